"""``descentlab landscape hessian RUN_DIR``: the curvature of a trained network at its final weights.

Loads an ``optim train`` run's checkpoint (weights only), rebuilds its network and data from the
run's config, and measures the Hessian of the training loss on a subset: the top eigenvalues
(Lanczos), the trace (Hutchinson) and the eigenvalue density (stochastic Lanczos quadrature).
Writes ``hessian.json`` and ``hessian_density.png`` into the run folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch.nn.functional as F

from descentlab.config import from_mapping
from descentlab.errors import UserError
from descentlab.experiments.optim_train import EXPERIMENT, TrainConfig, load_splits, make_model
from descentlab.landscape.hessian import Hessian
from descentlab.runs import load_checkpoint, load_run
from descentlab.runs.checkpoint import atomic_write_bytes


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
    import matplotlib.pyplot as plt

    from descentlab.report.figures import hessian_density

    fig = hessian_density(result)
    fig.savefig(Path(run_dir) / "hessian_density.png", dpi=110)
    plt.close(fig)
    return result
