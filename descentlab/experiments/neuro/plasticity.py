"""``descentlab neuro plasticity``: Oja's rule and STDP as a run.

Oja's rule on correlated data (the cosine with the first principal component), then STDP on a neuron whose
inputs carry a repeated spike pattern hidden in noise; the weights over time are kept in ``stdp.pt`` and
drawn in ``stdp.png``.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from descentlab.config import RunConfig, param
from descentlab.experiments.declaration import Experiment, TourSettings
from descentlab.neuro.plasticity import PatternResult, oja, repeated_pattern
from descentlab.report import Bound, Claim, Section
from descentlab.runs import Run, RunRecord, StopFlag, load_checkpoint, save_checkpoint, seed_everything


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


def plasticity_figures(record: RunRecord) -> dict[str, Figure]:
    return {"stdp.png": stdp_weights(stdp_result(record))}


def plasticity_table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    m = record.final()
    return ["measure", "value"], [
        ["Oja: cosine with the first principal component", f"{m['oja/cosine']:.4f}"],
        ["STDP: share of the 20 strongest synapses that carry the pattern", f"{100 * m['stdp/top20_in_pattern']:.0f}%"],
        ["STDP: spikes in the last quarter during the pattern / outside it",
         f"{m['stdp/late_spikes_in_pattern']:.0f} / {m['stdp/late_spikes_outside']:.0f} "
         f"(the pattern is shown {100 * m['stdp/pattern_time_fraction']:.0f}% of the time)"],
    ]  # fmt: skip


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


def plasticity_tour(settings: TourSettings) -> list[PlasticityConfig]:
    return [PlasticityConfig(seed=settings.seed, device=settings.device, seconds=60 if settings.quick else 120)]


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
