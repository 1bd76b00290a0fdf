"""``descentlab neuro patterns`` and ``descentlab neuro plasticity`` as runs, and ``descentlab neuro simulate``.

``patterns``: the five Izhikevich (2003) cortical firing patterns and a Hodgkin-Huxley action potential,
each neuron under a step of current; the traces are kept in ``traces.pt`` and drawn in ``neurons.png``.

``plasticity``: Oja's rule on correlated data (the cosine with the first principal component), then STDP
on a neuron whose inputs carry a repeated spike pattern hidden in noise; the weights over time are kept in
``stdp.pt`` and drawn in ``stdp.png``.

``simulate``: one neuron (or a population with currents spread from 0) under a constant current, its
spike count and rate, and optionally its voltage trace and f-I curve as a figure; not a run.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from descentlab.config import Options, RunConfig, param
from descentlab.errors import ParameterError
from descentlab.experiments.declaration import Call, Command, Experiment, TourSettings
from descentlab.neuro import LIF, PATTERNS, HodgkinHuxley, Izhikevich, Reset, simulate
from descentlab.neuro.plasticity import PatternResult, oja, repeated_pattern
from descentlab.report import Bound, Claim, Section
from descentlab.runs import Run, RunRecord, StopFlag, load_checkpoint, save_checkpoint, seed_everything


@dataclass(frozen=True)
class PatternsConfig(RunConfig):
    """Settings of ``descentlab neuro patterns``."""

    current: float = param(10.0, "Izhikevich: the step of input current", low=-100.0, high=100.0)
    duration: float = param(300.0, "Izhikevich: milliseconds simulated", low=10.0, high=10_000.0)
    hh_current: float = param(10.0, "Hodgkin-Huxley: the step of current, uA/cm^2", low=-100.0, high=500.0)
    hh_duration: float = param(50.0, "Hodgkin-Huxley: milliseconds simulated", low=5.0, high=5000.0)

    @property
    def run_name(self) -> str:
        return f"patterns-I{self.current:g}"


def patterns_train(
    cfg: PatternsConfig, run: Run, stop: StopFlag, state: dict[str, Any] | None = None
) -> dict[str, float]:
    traces: dict[str, Any] = {}
    metrics: dict[str, float] = {}
    for name in PATTERNS:
        rec, count = simulate(Izhikevich.pattern(name, dt=0.1), cfg.current, cfg.duration)
        assert rec is not None
        traces[name] = {"t": rec.t, "v": rec.v[:, 0], "spikes": rec.spikes[:, 0]}
        times = rec.t[rec.spikes[:, 0]]
        isi = times[1:] - times[:-1]
        metrics |= {f"{name}/spikes": float(count[0]), f"{name}/rate_hz": 1000.0 * float(count[0]) / cfg.duration,
                    f"{name}/first_isi_ms": float(isi[0]) if len(isi) else float("nan"),
                    f"{name}/last_isi_ms": float(isi[-1]) if len(isi) else float("nan")}  # fmt: skip
    hh = HodgkinHuxley(dt=0.01)
    rec, count = simulate(hh, cfg.hh_current, cfg.hh_duration)
    assert rec is not None
    traces["hodgkin-huxley"] = {"t": rec.t, "v": rec.v[:, 0], "spikes": rec.spikes[:, 0]}
    metrics |= {"hodgkin-huxley/spikes": float(count[0]), "hodgkin-huxley/peak_mv": float(rec.v.max()),
                "hodgkin-huxley/trough_mv": float(rec.v.min()), "hodgkin-huxley/rest_mv": float(rec.v[0, 0]),
                "hodgkin-huxley/e_na_mv": hh.e_na, "hodgkin-huxley/e_k_mv": hh.e_k}  # fmt: skip
    save_checkpoint(run.path / "traces.pt", traces)
    run.log(0, metrics)
    return metrics


@dataclass(frozen=True)
class PlasticityConfig(RunConfig):
    """Settings of ``descentlab neuro plasticity``."""

    seconds: float = param(60.0, "STDP: simulated seconds", low=1.0, high=3600.0)
    inputs: int = param(200, "STDP: afferents of the neuron", low=10, high=10_000)
    pattern_fraction: float = param(0.5, "STDP: fraction of afferents in the pattern", low=0.0, low_open=True, high=1.0)
    starts: int = param(9, "STDP: independent simulations (seeds 1000 seed + k); the figure shows the first", low=1,
                        high=1000)  # fmt: skip

    @property
    def run_name(self) -> str:
        return f"stdp-{self.seconds:g}s"


def plasticity_train(
    cfg: PlasticityConfig, run: Run, stop: StopFlag, state: dict[str, Any] | None = None
) -> dict[str, float]:
    seed_everything(cfg.seed)
    g = torch.Generator().manual_seed(cfg.seed)
    cov = torch.tensor([[3.0, 1.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 0.5]], dtype=torch.float64)
    x = torch.randn(3000, 3, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(cov).T
    w = oja(x, lr=0.002, epochs=5, generator=g)
    leading = torch.linalg.eigh(torch.cov(x.T)).eigenvectors[:, -1]
    found, noise_shares, ratios = 0, [], []
    for k in range(cfg.starts):
        r = repeated_pattern(inputs=cfg.inputs, pattern_fraction=cfg.pattern_fraction, seconds=cfg.seconds,
                             seed=1000 * cfg.seed + k)  # fmt: skip
        if k == 0:
            first = r
        s = stdp_outcome(r)
        noise_shares.append(1 - s["top20_in_pattern"])
        ratios.append(s["rate_ratio"])
        found += s["top20_in_pattern"] >= 0.8 - 1e-9 and s["rate_ratio"] >= 3 - 1e-9
    r = first
    save_checkpoint(run.path / "stdp.pt", {"weights": r.weights, "times": r.times, "pattern_inputs": r.pattern_inputs,
                                           "post_spikes": r.post_spikes, "in_pattern": r.in_pattern})  # fmt: skip
    for k in range(len(r.times)):
        members, final = r.pattern_inputs, r.weights[k]
        run.log(k, {"time_s": float(r.times[k]), "stdp/mean_weight_pattern": float(final[members].mean()),
                    "stdp/mean_weight_noise": float(final[~members].mean())})  # fmt: skip
    s = stdp_outcome(r)
    return {
        "oja/cosine": abs(float(w @ leading)) / float(w.norm()), "oja/norm": float(w.norm()),
        "stdp/top20_in_pattern": s["top20_in_pattern"], "stdp/late_spikes_in_pattern": s["late_spikes_in_pattern"],
        "stdp/late_spikes_outside": s["late_spikes_outside"], "stdp/pattern_time_fraction": s["pattern_time_fraction"],
        "stdp/starts": float(len(ratios)), "stdp/starts_found": float(found),
        "stdp/median_top20_noise_only": statistics.median(noise_shares),
        "stdp/median_rate_ratio": statistics.median(ratios),
    }  # fmt: skip


def stdp_outcome(r: PatternResult) -> dict[str, float]:
    """One STDP simulation's outcome: the share of its 20 strongest synapses that carry the pattern, and its
    spikes in the last quarter during the pattern and outside it, with the rate ratio (per unit time)."""
    final = r.weights[-1]
    n = len(r.post_spikes)
    late = slice(n - n // 4, n)
    inside = float((r.post_spikes[late] & r.in_pattern[late]).sum())
    outside = float((r.post_spikes[late] & ~r.in_pattern[late]).sum())
    shown = float(r.in_pattern[late].double().mean())
    rate_in, rate_out = inside / max(shown, 1e-9), outside / max(1 - shown, 1e-9)
    return {
        "top20_in_pattern": float(r.pattern_inputs[torch.topk(final, min(20, len(final))).indices].double().mean()),
        "late_spikes_in_pattern": inside, "late_spikes_outside": outside,
        "pattern_time_fraction": float(r.in_pattern.double().mean()),
        "rate_ratio": rate_in / max(rate_out, 1e-12),
    }  # fmt: skip


def stdp_result(record: RunRecord) -> PatternResult:
    return PatternResult(**load_checkpoint(record.path / "stdp.pt"))


# ---- figures and tables -------------------------------------------------------------------------


def neuron_patterns(traces: dict[str, Any], config: dict[str, Any]) -> Figure:
    """Izhikevich's five firing patterns and a Hodgkin-Huxley action potential: membrane against time."""
    names = list(traces)
    fig, axes = plt.subplots(len(names), 1, figsize=(8, 1.6 * len(names)), sharex=False)
    for ax, name in zip(axes, names, strict=True):
        t, v = traces[name]["t"].numpy(), traces[name]["v"].numpy()
        ax.plot(t, v, lw=0.8, color="C3" if name == "hodgkin-huxley" else "C0")
        current = config.get("hh_current") if name == "hodgkin-huxley" else config.get("current")
        ax.set_title(f"{name} (I = {current:g})", fontsize=9, loc="left")
        ax.set_ylabel("mV", fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("time (ms)")
    fig.tight_layout()
    return fig


def stdp_weights(result: PatternResult) -> Figure:
    """STDP on a repeated pattern: every synapse's weight over time (pattern afferents orange, noise-only
    grey), and the neuron's spikes in the last seconds with the pattern's presentations shaded."""
    fig, (ax, ax_spk) = plt.subplots(2, 1, figsize=(8, 6), gridspec_kw={"height_ratios": [3, 1]})
    t, w = result.times.numpy(), result.weights.numpy()
    members = result.pattern_inputs.numpy()
    ax.plot(t, w[:, ~members], color="0.6", lw=0.4, alpha=0.5)
    ax.plot(t, w[:, members], color="C1", lw=0.4, alpha=0.6)
    ax.plot([], [], color="C1", label="afferents in the pattern")
    ax.plot([], [], color="0.6", label="noise-only afferents")
    ax.set(xlabel="time (s)", ylabel="synaptic weight", title="STDP: weights over time")
    ax.legend(loc="center right")
    steps = len(result.post_spikes)
    last = slice(max(0, steps - 2000), steps)  # the last 2 s at 1 ms steps
    ms = np.arange(steps, dtype=float)[last]
    shown = result.in_pattern.numpy()[last]
    ax_spk.fill_between(ms, 0, 1, where=shown, color="C1", alpha=0.25, step="mid", label="pattern shown")
    spikes = result.post_spikes.numpy()[last]
    ax_spk.vlines(ms[spikes], 0, 1, color="C3", label="neuron spikes")
    ax_spk.set(xlabel="time (ms)", yticks=[], title="the last 2 seconds")
    ax_spk.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def neuron_figure(
    recording: Any, title: str, current: float, fi: tuple[list[float], list[float]] | None = None
) -> Figure:
    """A neuron's membrane potential against time with its spikes marked (the last neuron of the recording),
    a raster of every neuron's spikes when there are several, and optionally the f-I curve."""
    n = recording.v.shape[1]
    panels = 1 + (n > 1) + (fi is not None)
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 3.6), squeeze=False)
    ax = axes[0][0]
    t, v = recording.t.numpy(), recording.v[:, -1].numpy()
    ax.plot(t, v, lw=0.8)
    spikes = recording.spikes[:, -1].numpy().astype(bool)
    ax.plot(t[spikes], v[spikes], "|", color="C3", ms=12, label=f"{int(spikes.sum())} spikes")
    ax.set(xlabel="time (ms)", ylabel="membrane potential", title=f"{title}, current {current:g}")
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)
    k = 1
    if n > 1:
        steps, neurons = recording.spikes.nonzero(as_tuple=True)
        axes[0][k].plot(t[steps.numpy()], neurons.numpy(), "|", ms=3, color="k")
        axes[0][k].set(xlabel="time (ms)", ylabel=f"neuron (current 0 to {current:g})", title="raster", ylim=(-1, n))
        k += 1
    if fi:
        axes[0][k].plot(*fi, "o-", ms=3)
        axes[0][k].set(xlabel="current", ylabel="firing rate (Hz)", title="f-I curve")
        axes[0][k].grid(alpha=0.3)
    fig.tight_layout()
    return fig


def patterns_figures(record: RunRecord) -> dict[str, Figure]:
    return {"neurons.png": neuron_patterns(load_checkpoint(record.path / "traces.pt"), record.config)}


def plasticity_figures(record: RunRecord) -> dict[str, Figure]:
    return {"stdp.png": stdp_weights(stdp_result(record))}


def patterns_table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    m = record.final()
    rows = [[name, f"{m[f'{name}/spikes']:.0f}", f"{m[f'{name}/rate_hz']:.1f}", f"{m[f'{name}/first_isi_ms']:.1f}",
             f"{m[f'{name}/last_isi_ms']:.1f}"] for name in PATTERNS]  # fmt: skip
    rows.append(["hodgkin-huxley", f"{m['hodgkin-huxley/spikes']:.0f}", "-", f"peak {m['hodgkin-huxley/peak_mv']:.1f} mV",
                 f"trough {m['hodgkin-huxley/trough_mv']:.1f} mV"])  # fmt: skip
    return ["neuron", "spikes", "rate Hz", "first interval ms", "last interval ms"], rows


def plasticity_table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    m = record.final()
    return ["measure", "value"], [
        ["Oja: cosine with the first principal component", f"{m['oja/cosine']:.4f}"],
        ["STDP: share of the 20 strongest synapses that carry the pattern", f"{100 * m['stdp/top20_in_pattern']:.0f}%"],
        ["STDP: spikes in the last quarter during the pattern / outside it",
         f"{m['stdp/late_spikes_in_pattern']:.0f} / {m['stdp/late_spikes_outside']:.0f} "
         f"(the pattern is shown {100 * m['stdp/pattern_time_fraction']:.0f}% of the time)"],
    ]  # fmt: skip


# ---- report sections and declarations -----------------------------------------------------------


def patterns_claims(record: RunRecord) -> list[Claim]:
    m = record.final()
    peak, trough = m["hodgkin-huxley/peak_mv"], m["hodgkin-huxley/trough_mv"]
    # the model's rest and reversal potentials (runs logged before they were: HodgkinHuxley's own)
    rest = m.get("hodgkin-huxley/rest_mv", -65.0)
    e_na, e_k = m.get("hodgkin-huxley/e_na_mv", HodgkinHuxley.e_na), m.get("hodgkin-huxley/e_k_mv", HodgkinHuxley.e_k)
    ib_first, ib_last = m["intrinsically-bursting/first_isi_ms"], m["intrinsically-bursting/last_isi_ms"]
    rs_first, rs_last = m["regular-spiking/first_isi_ms"], m["regular-spiking/last_isi_ms"]
    return [
        Claim(
            "The Hodgkin-Huxley spike overshoots and undershoots as its reversal potentials allow: its peak is more "
            f"than halfway from 0 mV to sodium's {e_na:+.0f} mV, its trough more than halfway from rest "
            f"({rest:.0f} mV) to potassium's {e_k:.0f} mV",
            f"peak {peak:.1f} mV, trough {trough:.1f} mV",
            [
                Bound("the Hodgkin-Huxley peak (mV above 0)", peak, ">", e_na / 2),
                Bound("the Hodgkin-Huxley trough (mV below rest)", rest - trough, ">", (rest - e_k) / 2),
            ],
        ),
        Claim(
            "Izhikevich's regular-spiking neuron adapts (its last interval is longer than its first) and the "
            "intrinsically bursting one starts with a burst (its first interval is less than a fifth of its last)",
            f"regular spiking {rs_first:.1f} -> {rs_last:.1f} ms; intrinsically bursting {ib_first:.1f} -> {ib_last:.1f} ms",
            [
                Bound("regular spiking: last interval over first", rs_last / rs_first, ">", 1),
                Bound("intrinsically bursting: first interval over last", ib_first / ib_last, "<", 0.2),
            ],
        ),
    ]


def patterns_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Neuron models' from ``descentlab neuro patterns`` runs."""
    return [
        Section(
            id="neuro-patterns",
            title="Izhikevich's firing patterns and the Hodgkin-Huxley spike",
            caption=(
                f"Each model under a step of current (Izhikevich: {r.config.get('current'):g}; Hodgkin-Huxley: "
                f"{r.config.get('hh_current'):g} uA/cm^2): regular spiking adapts, intrinsically bursting starts "
                "with a burst, chattering fires bursts again and again, fast spiking does not adapt, low-threshold "
                "spiking adapts from a high rate; the squid axon's spike jumps to about +40 mV and undershoots rest."
            ),
            figures=[neuron_patterns(load_checkpoint(r.path / "traces.pt"), r.config)],
            table=patterns_table(r),
            commands=[str(r.meta.get("command"))],
            claims=patterns_claims(r),
        )
        for r in runs
        if r.status == "complete" and (r.path / "traces.pt").is_file()
    ]


def plasticity_claims(record: RunRecord) -> list[Claim]:
    m = record.final()
    shown = m["stdp/pattern_time_fraction"]
    inside, outside = m["stdp/late_spikes_in_pattern"], m["stdp/late_spikes_outside"]
    if "stdp/median_rate_ratio" in m:
        starts, found = int(m["stdp/starts"]), int(m["stdp/starts_found"])
        noise_only, ratio = m["stdp/median_top20_noise_only"], m["stdp/median_rate_ratio"]
    else:  # runs logged before the simulations were repeated: the one simulation
        rate_in, rate_out = inside / max(shown, 1e-9), outside / max(1 - shown, 1e-9)
        starts, noise_only, ratio = 1, 1 - m["stdp/top20_in_pattern"], rate_in / max(rate_out, 1e-12)
        found = int(noise_only <= 0.2 + 1e-9 and ratio >= 3 - 1e-9)
    return [
        Claim(
            "Oja's rule finds the first principal component: the cosine of the weights with it is above 0.99",
            f"cosine {m['oja/cosine']:.4f}",
            [Bound("1 - the cosine", 1 - m["oja/cosine"], "<", 0.01)],
        ),
        Claim(
            f"STDP finds the pattern hidden in the noise in most of {starts} independent simulations (whether one "
            "does is a matter of chance): in the median simulation at most 20% of the 20 strongest synapses are "
            "noise-only, and in the last quarter the neuron fires at least 3 times as often (per unit time) during "
            "the pattern as outside it",
            f"found in {found} of {starts}; medians: {100 * noise_only:.0f}% of the strongest 20 noise-only, "
            f"rate ratio {ratio:.1f}; the first: {inside:.0f} spikes during the pattern (shown {100 * shown:.0f}% "
            f"of the time), {outside:.0f} outside",
            [
                Bound("the median share of the strongest 20 synapses that are noise-only", noise_only, "<", 0.2 + 1e-9),
                Bound("the median firing rate during the pattern over outside it", ratio, ">", 3 - 1e-9),
            ],
        ),
    ]


def plasticity_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Learning rules of the brain' from ``descentlab neuro plasticity`` runs."""
    return [
        Section(
            id="stdp",
            title="Oja's rule and spike-timing-dependent plasticity",
            caption=(
                f"Oja's rule on correlated Gaussian data; then STDP on one LIF neuron with "
                f"{r.config.get('inputs')} inputs, a fraction {r.config.get('pattern_fraction')} of which carry a "
                f"repeated 50 ms spike pattern hidden in Poisson noise, for {r.config.get('seconds'):g} s."
            ),
            figures=[stdp_weights(stdp_result(r))],
            table=plasticity_table(r),
            commands=[str(r.meta.get("command"))],
            claims=plasticity_claims(r),
        )
        for r in runs
        if r.status == "complete" and (r.path / "stdp.pt").is_file()
    ]


def patterns_tour(settings: TourSettings) -> list[PatternsConfig]:
    return [PatternsConfig(seed=settings.seed, device=settings.device)]


def plasticity_tour(settings: TourSettings) -> list[PlasticityConfig]:
    return [PlasticityConfig(seed=settings.seed, device=settings.device, seconds=60 if settings.quick else 120)]


NEURO_PATTERNS = Experiment(
    command="neuro patterns",
    help="Izhikevich's five cortical firing patterns and a Hodgkin-Huxley spike, as a run",
    description=(
        "The Izhikevich (2003) parameter sets (regular spiking, intrinsically bursting, chattering,\n"
        "fast spiking, low-threshold spiking) under a step of current, and the Hodgkin-Huxley action\n"
        "potential; writes neurons.png and a table of spike counts and intervals."
    ),
    examples=("descentlab neuro patterns", "descentlab neuro patterns --current 15 --hh-current 20"),
    config=PatternsConfig,
    train=patterns_train,
    figures=patterns_figures,
    table=patterns_table,
    sections=patterns_sections,
    tour=patterns_tour,
    headline=lambda r: patterns_claims(r)[0].evidence,
)

NEURO_PLASTICITY = Experiment(
    command="neuro plasticity",
    help="Oja's rule finds a principal component; STDP learns a spike pattern hidden in noise",
    description=(
        "Oja's Hebbian rule on correlated Gaussian data (cosine with the leading eigenvector of the\n"
        "covariance), then pair-based STDP on one LIF neuron whose inputs carry a repeated 50 ms spike\n"
        "pattern hidden in Poisson noise: which synapses grow, and whether the neuron comes to fire for\n"
        "the pattern. Writes stdp.png, the weights over time."
    ),
    examples=("descentlab neuro plasticity", "descentlab neuro plasticity --seconds 120 --seed 1"),
    config=PlasticityConfig,
    train=plasticity_train,
    figures=plasticity_figures,
    table=plasticity_table,
    sections=plasticity_sections,
    tour=plasticity_tour,
    headline=lambda r: "; ".join(c.evidence for c in plasticity_claims(r)),
)


# ---- neuro simulate -----------------------------------------------------------------------------

MAX_STEPS = 10_000_000
MAX_NEURON_STEPS = 50_000_000  # the recorded voltages of all neurons: 400 MB in float64


@dataclass(frozen=True)
class SimulateOptions(Options):
    model: str = param(None, "the neuron model", choices=("lif", "izhikevich", "hh"), required=True)
    pattern: str = param("regular-spiking", "Izhikevich's parameter set", choices=tuple(PATTERNS))
    current: float | None = param(None, "input current (default: 1.5 LIF, 10 otherwise)", low=-1e4, high=1e4)
    duration: float = param(1000.0, "milliseconds", low=0.0, low_open=True, high=1e6)
    dt: float | None = param(None, "time step in ms (default 0.1; 0.01 for hh)", low=0.0, low_open=True, high=10.0)
    tau_m: float = param(10.0, "LIF membrane time constant, ms", low=0.0, low_open=True, high=1e6)
    threshold: float = param(1.0, "LIF threshold", low=-1e6, high=1e6)
    resistance: float = param(1.0, "LIF membrane resistance", low=0.0, low_open=True, high=1e6)
    reset: str = param(
        "to-value", "LIF reset: to 0 (to-value) or subtract the threshold", choices=("to-value", "subtract")
    )
    refractory: float = param(0.0, "LIF refractory period, ms", low=0.0, high=1e6)
    neurons: int = param(1, "simulate N neurons with currents spread from 0 to --current; --out adds their raster",
                         low=1, high=10_000)  # fmt: skip
    fi: str | None = param(None, "also an f-I curve over currents LOW..HIGH (with --out)", metavar="LOW,HIGH")
    out: str | None = param(None, "write the voltage trace (and f-I curve) here", metavar="FILE.png")
    json: bool = param(False, "print one JSON object")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.out is not None and Path(self.out).suffix.lower() != ".png":
            raise ParameterError("out", f"{self.out}: the figure is a PNG; give a name ending in .png")
        if self.out is not None and not Path(self.out).parent.is_dir():
            raise ParameterError("out", f"{self.out}: folder {Path(self.out).parent} does not exist")
        self.fi_range()

    def fi_range(self) -> tuple[float, float] | None:
        if self.fi is None:
            return None
        try:
            low, high = (float(x) for x in self.fi.split(","))
        except ValueError:
            raise ParameterError("fi", f"{self.fi!r}: valid: LOW,HIGH currents such as 0,30") from None
        return low, high

    def neuron(self) -> LIF | Izhikevich | HodgkinHuxley:
        if self.model == "lif":
            return LIF(tau_m=self.tau_m, threshold=self.threshold, resistance=self.resistance,
                       reset=Reset(self.reset), refractory=self.refractory, dt=self.dt or 0.1)  # fmt: skip
        if self.model == "izhikevich":
            return Izhikevich.pattern(self.pattern, dt=self.dt or 0.1)
        return HodgkinHuxley(dt=self.dt or 0.01)


def run_simulate(call: Call) -> int:
    opts: SimulateOptions = call.options
    model = opts.neuron()
    current = opts.current if opts.current is not None else (1.5 if opts.model == "lif" else 10.0)
    steps, n = round(opts.duration / model.dt), opts.neurons
    if steps > MAX_STEPS:
        raise ParameterError("duration", f"{opts.duration} at dt {model.dt}: over 10 million steps; raise dt")
    if steps * n > MAX_NEURON_STEPS:
        raise ParameterError("neurons", f"{n} neurons for {steps:,} steps: over {MAX_NEURON_STEPS:,} neuron-steps to "
                             "record; simulate fewer neurons, a shorter time or a larger dt")  # fmt: skip
    currents = torch.linspace(0.0, current, n, dtype=torch.float64) if n > 1 else torch.tensor([current])
    recording, count = simulate(model, currents, opts.duration, n=n)
    spikes = int(count[-1])  # the neuron given --current itself
    result: dict[str, Any] = {"model": opts.model, "current": current, "duration_ms": opts.duration,
                              "dt_ms": model.dt, "spikes": spikes, "rate_hz": 1000.0 * spikes / opts.duration}  # fmt: skip
    if isinstance(model, LIF):
        result["closed_form_rate_hz"] = model.rate(current)
    if opts.model == "izhikevich":
        result["pattern"] = opts.pattern
    if n > 1:
        result["rates_hz"] = (1000.0 * count.double() / opts.duration).tolist()
    if opts.out:
        fi = None
        fi_range = opts.fi_range()
        if fi_range is not None:
            fi_currents = torch.linspace(*fi_range, 31, dtype=torch.float64)
            seconds = min(opts.duration, 1000.0)
            _, counts = simulate(model, fi_currents, seconds, n=31, record=False)
            fi = (fi_currents.tolist(), (1000.0 * counts.double() / seconds).tolist())
        assert recording is not None
        title = f"{opts.model} ({opts.pattern})" if opts.model == "izhikevich" else opts.model
        fig = neuron_figure(recording, title, current, fi)
        fig.savefig(opts.out, dpi=110, bbox_inches="tight")
        plt.close(fig)
        result["figure"] = opts.out
    if opts.json:
        print(json.dumps(result))
    else:
        closed = f" (closed form {result['closed_form_rate_hz']:.2f} Hz)" if "closed_form_rate_hz" in result else ""
        print(f"{result['spikes']} spikes in {opts.duration:g} ms: {result['rate_hz']:.2f} Hz{closed}"
              + (f"; figure: {opts.out}" if opts.out else ""))  # fmt: skip
    return 0


NEURO_SIMULATE = Command(
    command="neuro simulate",
    help="simulate one neuron under a constant current: spikes, rate, voltage trace",
    description=(
        "Simulate one neuron for --duration ms under a constant --current (LIF: in units of the\n"
        "threshold over the resistance; Izhikevich: the paper's units; Hodgkin-Huxley: uA/cm^2).\n"
        "Prints the spike count and rate; --out writes the voltage trace and, with --fi, the f-I curve."
    ),
    examples=(
        "descentlab neuro simulate --model lif --tau-m 10 --threshold 1 --current 1.5 --duration 1000 --json",
        "descentlab neuro simulate --model lif --current 1.5 --refractory 2 --reset subtract",
        "descentlab neuro simulate --model izhikevich --pattern intrinsically-bursting --current 10 --out ib.png",
        "descentlab neuro simulate --model hh --current 10 --duration 100 --fi 0,30 --out hh.png",
    ),
    run=run_simulate,
    options=SimulateOptions,
)
