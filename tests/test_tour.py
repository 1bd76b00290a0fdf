"""``descentlab tour --quick``: every experiment that exists runs, the report has its sections, and the metrics
are those recorded before the refactor of issue 14 (one declaration per experiment), bit for bit."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from conftest import REPO, cli_process

RECORDED = json.loads((REPO / "tests" / "data" / "quick_tour_metrics.json").read_text())


def _machine() -> dict[str, object]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    fields = dict(line.split(":", 1) for line in cpuinfo.splitlines() if ":" in line)
    cpu = fields.get("model name\t", "").strip()
    return {"cpu": cpu, "avx512f": "avx512f" in fields.get("flags\t\t", "").split(), "torch": torch.__version__}


def _fingerprints(root: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Each run's digest (records as written, without wall-clock keys) and shape (steps and keys)."""
    digests, shapes = {}, {}
    for path in sorted(root.glob("*/*/metrics.jsonl")):
        name, seed, _ = path.parent.name.split("__")
        key = f"{path.parent.parent.name}/{name}__{seed}"
        records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        assert not any("charts/SPS" in r for r in records), key  # wall-clock rates go to timing.jsonl
        digests[key] = hashlib.sha256("".join(json.dumps(r) + "\n" for r in records).encode()).hexdigest()
        shapes[key] = hashlib.sha256(json.dumps([[r["step"], sorted(r)] for r in records]).encode()).hexdigest()
    return digests, shapes


def test_quick_tour_writes_the_report(tmp_path: Path) -> None:
    result = cli_process("tour", "--quick", "--out", str(tmp_path), timeout=240)
    assert result.returncode == 0, result.stderr
    digests, shapes = _fingerprints(tmp_path / "tour")
    assert shapes == RECORDED["shapes"]  # the same runs, each logging the same keys at the same steps
    if _machine() == RECORDED["machine"]:  # bit-identical metrics are promised on the same machine
        assert digests == RECORDED["digests"], [k for k in digests if digests[k] != RECORDED["digests"].get(k)]
    report = tmp_path / "tour" / "report.html"
    assert f"report: {report}" in result.stdout
    html = report.read_text()
    assert '<section id="optimization"' in html and '<section id="generalization"' in html
    assert '<section id="race-rosenbrock"' in html and '<section id="curvature"' in html
    assert '<section id="saddle-saddle"' in html and '<section id="minima-rastrigin"' in html
    assert '<section id="plateau"' in html and '<section id="steep"' in html and '<section id="surface"' in html
    assert '<section id="dropout"' in html and '<section id="stn-r"' in html
    assert '<section id="gradient-flow"' in html and '<section id="lm"' in html  # the gates and a sample in lm
    assert "A sample from the model" in html
    assert '<section id="rl-gridroute-v0-qlearning"' in html and '<section id="rl-cartpole-v1-ppo"' in html
    assert '<section id="neuro-patterns"' in html and '<section id="snn"' in html and '<section id="stdp"' in html
    route = next((tmp_path / "tour" / "rl-train").glob("gridroute-qlearning*"))
    assert json.loads((route / "summary.json").read_text())["metrics"]["final/mean_effectiveness"] == 1.0
    (race,) = (tmp_path / "tour" / "optim-race").iterdir()
    assert json.loads((race / "summary.json").read_text())["status"] == "complete"
    runs = sorted((tmp_path / "tour" / "optim-train").iterdir())
    configs = [json.loads((r / "config.json").read_text())["config"] for r in runs]
    # the unit's eight: gradient descent, SGD, momentum, mini-batch SGD, Adagrad, RMSProp, AdaDelta, Adam
    assert sorted((c["optimizer"], c["regime"]) for c in configs) == sorted(
        [
            ("sgd", "full-batch"),
            ("sgd", "stochastic"),
            ("momentum", "mini-batch"),
            ("sgd", "mini-batch"),
            ("adagrad", "mini-batch"),
            ("rmsprop", "mini-batch"),
            ("adadelta", "mini-batch"),
            ("adam", "mini-batch"),
        ]
    )
    for run, config in zip(runs, configs, strict=True):
        summary = json.loads((run / "summary.json").read_text())
        assert summary["status"] == "complete"
        # 2 epochs on 2,000 images: every regime learns; full batch has made only 2 updates
        floor = 0.3 if config["regime"] == "full-batch" else 0.8
        assert summary["metrics"]["val/accuracy"] > floor, (config, summary["metrics"])
        assert (run / "timing.jsonl").read_text().strip()  # seconds of optimization were logged
