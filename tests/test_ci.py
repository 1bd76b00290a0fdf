"""The CI definitions agree with each other and with the README: .ci/run is the README's test command, and the
GitHub workflow runs it on every Python the package supports, with torch's CPU wheel, and the slow tests weekly."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from conftest import REPO
from measurements import OUT, page


def test_ci_runs_the_readmes_test_command() -> None:
    readme = (REPO / "README.md").read_text()
    command = "bash scripts/setup.sh --dev && .venv/bin/python -m pytest"
    assert f"```bash\n{command}\n```" in readme
    assert (REPO / ".ci" / "run").read_text().strip().splitlines()[-1] == command


def test_the_workflow_installs_cpu_torch_first_on_every_supported_python_and_runs_slow_tests_on_a_schedule() -> None:
    flow = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
    job = flow["jobs"]["test"]
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    low, high = (int(v) for v in re.findall(r"3\.(\d+)", requires))  # ">=3.11,<3.13"
    assert job["strategy"]["matrix"]["python"] == [f"3.{m}" for m in range(low, high)]
    runs = [step.get("run", "") for step in job["steps"]]
    torch_step = next(i for i, r in enumerate(runs) if "torch==" in r)
    assert "--index-url https://download.pytorch.org/whl/cpu" in runs[torch_step]
    setup_steps = [i for i, r in enumerate(runs) if "setup.sh" in r or ".ci/run" in r]
    assert setup_steps and min(setup_steps) > torch_step  # the CPU wheel is in .venv before setup.sh asks for torch
    pinned = re.search(r"torch==([\d.]+)", (REPO / "scripts" / "setup.sh").read_text())
    assert pinned and f"torch=={pinned.group(1)}" in runs[torch_step]
    on = flow.get("on", flow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert "schedule" in on and any("-m slow" in r for r in runs)


def test_the_measurements_page_is_what_its_script_writes_from_the_results(tmp_path: Path) -> None:
    """docs/measurements.md is generated from benchmarks/results/ (run scripts/measurements.py after adding
    results), and the page shows a results folder's tables and names its raw records."""
    assert OUT.read_text(encoding="utf-8") == page(), "run: .venv/bin/python scripts/measurements.py"
    folder = tmp_path / "cpu-2030-01-02"
    folder.mkdir()
    (folder / "bench.txt").write_text("python benchmarks/x.py, at abc1234\nrow 1.00\n")
    (folder / "raw.jsonl").write_text("{}\n")
    (tmp_path / "cpu-2029-01-01").mkdir()
    text = page(tmp_path)
    assert text.index("cpu-2030-01-02") < text.index("cpu-2029-01-01")  # newest first
    assert "row 1.00" in text and "raw.jsonl" in text and "{}" not in text
