"""``descentlab tour --quick``: every experiment that exists runs, and the report has its sections."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import cli_process


def test_quick_tour_writes_the_report(tmp_path: Path) -> None:
    result = cli_process("tour", "--quick", "--out", str(tmp_path), timeout=240)
    assert result.returncode == 0, result.stderr
    report = tmp_path / "tour" / "report.html"
    assert f"report: {report}" in result.stdout
    html = report.read_text()
    assert '<section id="optimization"' in html and '<section id="generalization"' in html
    runs = sorted((tmp_path / "tour" / "optim-train").iterdir())
    assert {json.loads((r / "config.json").read_text())["config"]["optimizer"] for r in runs} == {
        "sgd",
        "momentum",
        "adam",
    }
    for run in runs:
        summary = json.loads((run / "summary.json").read_text())
        assert summary["status"] == "complete"
        assert summary["metrics"]["val/accuracy"] > 0.8  # one epoch on 5,000 images already learns
