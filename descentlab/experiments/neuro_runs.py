"""``descentlab neuro patterns`` and ``descentlab neuro plasticity`` as runs.

``patterns``: the five Izhikevich (2003) cortical firing patterns and a Hodgkin-Huxley action potential,
each neuron under a step of current; the traces are kept in ``traces.pt`` and drawn in ``neurons.png``.

``plasticity``: Oja's rule on correlated data (the cosine with the first principal component), then STDP
on a neuron whose inputs carry a repeated spike pattern hidden in noise; the weights over time are kept in
``stdp.pt`` and drawn in ``stdp.png``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from descentlab.config import RunConfig, param
from descentlab.neuro import PATTERNS, HodgkinHuxley, Izhikevich, simulate
from descentlab.runs import Run, RunRecord, StopFlag, load_checkpoint, save_checkpoint, seed_everything

PATTERNS_EXPERIMENT = "neuro-patterns"
PLASTICITY_EXPERIMENT = "neuro-plasticity"


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
    rec, count = simulate(HodgkinHuxley(dt=0.01), cfg.hh_current, cfg.hh_duration)
    assert rec is not None
    traces["hodgkin-huxley"] = {"t": rec.t, "v": rec.v[:, 0], "spikes": rec.spikes[:, 0]}
    metrics |= {"hodgkin-huxley/spikes": float(count[0]), "hodgkin-huxley/peak_mv": float(rec.v.max()),
                "hodgkin-huxley/trough_mv": float(rec.v.min())}  # fmt: skip
    save_checkpoint(run.path / "traces.pt", traces)
    run.log(0, metrics)
    return metrics


@dataclass(frozen=True)
class PlasticityConfig(RunConfig):
    """Settings of ``descentlab neuro plasticity``."""

    seconds: float = param(60.0, "STDP: simulated seconds", low=1.0, high=3600.0)
    inputs: int = param(200, "STDP: afferents of the neuron", low=10, high=10_000)
    pattern_fraction: float = param(0.5, "STDP: fraction of afferents in the pattern", low=0.0, low_open=True, high=1.0)

    @property
    def run_name(self) -> str:
        return f"stdp-{self.seconds:g}s"


def plasticity_train(
    cfg: PlasticityConfig, run: Run, stop: StopFlag, state: dict[str, Any] | None = None
) -> dict[str, float]:
    from descentlab.neuro.plasticity import oja, repeated_pattern

    seed_everything(cfg.seed)
    g = torch.Generator().manual_seed(cfg.seed)
    cov = torch.tensor([[3.0, 1.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 0.5]], dtype=torch.float64)
    x = torch.randn(3000, 3, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(cov).T
    w = oja(x, lr=0.002, epochs=5, generator=g)
    leading = torch.linalg.eigh(torch.cov(x.T)).eigenvectors[:, -1]
    r = repeated_pattern(inputs=cfg.inputs, pattern_fraction=cfg.pattern_fraction, seconds=cfg.seconds, seed=cfg.seed)
    save_checkpoint(run.path / "stdp.pt", {"weights": r.weights, "times": r.times, "pattern_inputs": r.pattern_inputs,
                                           "post_spikes": r.post_spikes, "in_pattern": r.in_pattern})  # fmt: skip
    for k in range(len(r.times)):
        members, final = r.pattern_inputs, r.weights[k]
        run.log(k, {"time_s": float(r.times[k]), "stdp/mean_weight_pattern": float(final[members].mean()),
                    "stdp/mean_weight_noise": float(final[~members].mean())})  # fmt: skip
    final = r.weights[-1]
    n = len(r.post_spikes)
    late = slice(n - n // 4, n)
    return {
        "oja/cosine": abs(float(w @ leading)) / float(w.norm()), "oja/norm": float(w.norm()),
        "stdp/top20_in_pattern": float(r.pattern_inputs[torch.topk(final, min(20, len(final))).indices].double().mean()),
        "stdp/late_spikes_in_pattern": float((r.post_spikes[late] & r.in_pattern[late]).sum()),
        "stdp/late_spikes_outside": float((r.post_spikes[late] & ~r.in_pattern[late]).sum()),
        "stdp/pattern_time_fraction": float(r.in_pattern.double().mean()),
    }  # fmt: skip


def stdp_result(record: RunRecord) -> Any:
    from descentlab.neuro.plasticity import PatternResult

    return PatternResult(**load_checkpoint(record.path / "stdp.pt"))


def figures(record: RunRecord) -> dict[str, Any]:
    from descentlab.report.figures import neuron_patterns, stdp_weights

    if record.experiment == PATTERNS_EXPERIMENT:
        return {"neurons.png": neuron_patterns(load_checkpoint(record.path / "traces.pt"), record.config)}
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
