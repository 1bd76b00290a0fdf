"""``descentlab landscape hessian RUN_DIR``: the curvature of a trained network at its final weights.

Loads an ``optim train`` run's checkpoint (weights only), rebuilds its network and data from the
run's config, and measures the Hessian of the training loss on a subset: the top eigenvalues
(Lanczos), the trace (Hutchinson) and the eigenvalue density (stochastic Lanczos quadrature).
Writes ``hessian.json`` and ``hessian_density.png`` into the run folder.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from descentlab.config import Options, from_mapping, param
from descentlab.errors import UserError
from descentlab.experiments.declaration import Call, Command, TourSettings
from descentlab.landscape.hessian import Hessian, Spectrum
from descentlab.report import Bound, Claim, Section
from descentlab.runs import RunRecord, load_checkpoint, load_run
from descentlab.runs.checkpoint import atomic_write_bytes
from descentlab.training.mnist import OPTIM_TRAIN_RUNS, TrainConfig, load_splits, make_model, trained_run

EXPERIMENT = OPTIM_TRAIN_RUNS  # the runs it analyses


def analyze(run_dir: str | Path, examples: int = 1000, k: int = 5, samples: int = 30, seed: int = 0) -> dict[str, Any]:
    """Top-``k`` eigenvalues, trace and spectral density of the training loss on ``examples`` images."""
    record = load_run(run_dir)
    if record.experiment != EXPERIMENT:
        raise UserError(f"{run_dir}: 'landscape hessian' needs an {EXPERIMENT} run; this one is {record.experiment}")
    cfg = from_mapping(TrainConfig, record.config, source=str(Path(run_dir) / "config.json"))
    state = load_checkpoint(Path(run_dir) / "checkpoint.pt")
    model = make_model(cfg.hidden)
    model.load_state_dict(state["model"])
    x, y = load_splits(cfg)["train"]
    x, y = x[:examples], y[:examples]
    hessian = Hessian(lambda: F.cross_entropy(model(x), y), list(model.parameters()))
    top = hessian.top_eigenvalues(k=k, steps=max(3 * k, 30), seed=seed)
    trace, stderr = hessian.trace(samples=samples, seed=seed)
    spectrum = hessian.density(starts=1, steps=80, seed=seed)
    result = {
        "run": str(run_dir),
        "parameters": hessian.numel,
        "examples": len(y),
        "top_eigenvalues": top.tolist(),
        "trace": trace,
        "trace_stderr": stderr,
        "density_nodes": [n.tolist() for n in spectrum.nodes],
        "density_weights": [w.tolist() for w in spectrum.weights],
    }
    atomic_write_bytes(Path(run_dir) / "hessian.json", json.dumps(result, indent=1).encode())
    fig = hessian_density(result)
    fig.savefig(Path(run_dir) / "hessian_density.png", dpi=110)
    plt.close(fig)
    return result


def hessian_density(result: dict[str, Any]) -> Figure:
    """The eigenvalue density saved in ``hessian.json`` (quadrature nodes and weights), top eigenvalues marked."""
    spectrum = Spectrum(
        [torch.tensor(n, dtype=torch.float64) for n in result["density_nodes"]],
        [torch.tensor(w, dtype=torch.float64) for w in result["density_weights"]],
    )
    nodes = torch.cat(spectrum.nodes)
    spread = float(nodes.max() - nodes.min()) or 1.0
    grid = torch.linspace(
        float(nodes.min()) - 0.05 * spread, float(nodes.max()) + 0.05 * spread, 2000, dtype=torch.float64
    )
    values = spectrum.density(grid, sigma=spread / 100)
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    ax.semilogy(grid.numpy(), values.clamp_min(1e-8).numpy())
    for e in result["top_eigenvalues"]:
        ax.axvline(e, color="tab:red", alpha=0.4, linewidth=0.8)
    ax.set(xlabel="eigenvalue", ylabel="density", title=f"Hessian spectrum ({result['parameters']:,} parameters)")
    fig.tight_layout()
    return fig


def claims(h: dict[str, Any]) -> list[Claim]:
    top = h["top_eigenvalues"]
    mean = h["trace"] / h["parameters"]
    ratio = top[0] / mean if mean > 0 else math.inf
    return [Claim(
        "At the trained weights the curvature is a few sharp directions above a flat bulk: the largest Hessian "
        "eigenvalue is positive and more than 1,000 times the mean eigenvalue (the trace over the parameters)",
        f"largest eigenvalue {top[0]:.3g}; mean eigenvalue {mean:.3g} (trace {h['trace']:.4g} over "
        f"{h['parameters']:,} parameters); ratio {ratio:,.0f}",
        [Bound("the largest eigenvalue", top[0], ">", 0), Bound("the largest eigenvalue over the mean", ratio, ">", 1000)],
    )]  # fmt: skip


def sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Curvature of a trained network' from the ``hessian.json`` files that ``landscape hessian`` wrote."""
    results = [(r, json.loads((r.path / "hessian.json").read_text())) for r in runs if r.experiment == EXPERIMENT
               and r.status == "complete" and (r.path / "hessian.json").is_file()]  # fmt: skip
    if not results:
        return []
    rows = [[r.path.name, f"{h['parameters']:,}", ", ".join(f"{e:.3g}" for e in h["top_eigenvalues"]),
             f"{h['trace']:.4g} +- {h['trace_stderr']:.2g}"] for r, h in results]  # fmt: skip
    return [
        Section(
            id="curvature",
            title="The Hessian spectrum of a trained network",
            caption=(
                f"The training loss of {results[0][0].path.name} on {results[0][1]['examples']:,} images: its top "
                "eigenvalues (Lanczos), trace (Hutchinson) and eigenvalue density (stochastic Lanczos quadrature)."
            ),
            figures=[hessian_density(h) for _, h in results[:1]],
            table=(["run", "parameters", "top eigenvalues", "trace"], rows),
            commands=[f"descentlab landscape hessian {r.path}" for r, _ in results],
            claims=[c for _, h in results[:1] for c in claims(h)],
        )
    ]


def tour(settings: TourSettings, paths: Sequence[Path]) -> None:
    """The tour measures the curvature of its Adam network."""
    adam = trained_run(paths, "adam")
    if adam is not None:
        analyze(adam, examples=500 if settings.quick else 1000, samples=10 if settings.quick else 30,
                seed=settings.seed)  # fmt: skip


@dataclass(frozen=True)
class HessianOptions(Options):
    run_dir: str = param("", "a finished or interrupted optim-train run", positional=True, metavar="RUN_DIR")
    examples: int = param(1000, "training images in the loss", low=1, high=60_000)
    k: int = param(5, "how many top eigenvalues", low=1, high=1000)
    samples: int = param(30, "Hutchinson probes for the trace", low=2, high=10_000)


def run_hessian(call: Call) -> int:
    opts: HessianOptions = call.options
    result = analyze(opts.run_dir, examples=opts.examples, k=opts.k, samples=opts.samples)
    print(f"{result['parameters']:,} parameters, loss on {result['examples']:,} training images")
    print("top eigenvalues: " + ", ".join(f"{e:.4g}" for e in result["top_eigenvalues"]))
    print(f"trace (Hutchinson, {opts.samples} probes): {result['trace']:.4g} +- {result['trace_stderr']:.2g}")
    print(f"written: {Path(opts.run_dir) / 'hessian.json'}, {Path(opts.run_dir) / 'hessian_density.png'}")
    return 0


LANDSCAPE_HESSIAN = Command(
    command="landscape hessian",
    help="top eigenvalues, trace and eigenvalue density of an optim-train run's training loss",
    description="Writes hessian.json and hessian_density.png into the run folder and prints the numbers.",
    examples=("descentlab landscape hessian runs/tour/optim-train/mnist-adam__0__20261125-120000",),
    run=run_hessian,
    options=HessianOptions,
    sections=sections,
    tour=tour,
    reads=("optim-train",),
)
