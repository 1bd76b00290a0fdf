"""``descentlab neuro patterns``: the five Izhikevich (2003) cortical firing patterns and a Hodgkin-Huxley
action potential, each neuron under a step of current.

The traces are kept in ``traces.pt`` and drawn in ``neurons.png``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from descentlab.config import RunConfig, param
from descentlab.experiments.declaration import Experiment, TourSettings
from descentlab.neuro import PATTERNS, HodgkinHuxley, Izhikevich, simulate
from descentlab.report import Bound, Claim, Section
from descentlab.runs import Run, RunRecord, StopFlag, load_checkpoint, save_checkpoint


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


def patterns_figures(record: RunRecord) -> dict[str, Figure]:
    return {"neurons.png": neuron_patterns(load_checkpoint(record.path / "traces.pt"), record.config)}


def patterns_table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    m = record.final()
    rows = [[name, f"{m[f'{name}/spikes']:.0f}", f"{m[f'{name}/rate_hz']:.1f}", f"{m[f'{name}/first_isi_ms']:.1f}",
             f"{m[f'{name}/last_isi_ms']:.1f}"] for name in PATTERNS]  # fmt: skip
    rows.append(["hodgkin-huxley", f"{m['hodgkin-huxley/spikes']:.0f}", "-", f"peak {m['hodgkin-huxley/peak_mv']:.1f} mV",
                 f"trough {m['hodgkin-huxley/trough_mv']:.1f} mV"])  # fmt: skip
    return ["neuron", "spikes", "rate Hz", "first interval ms", "last interval ms"], rows


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


def patterns_tour(settings: TourSettings) -> list[PatternsConfig]:
    return [PatternsConfig(seed=settings.seed, device=settings.device)]


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
