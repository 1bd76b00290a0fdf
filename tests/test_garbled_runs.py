"""Run folders damaged by hand, by a full disk or by another program: ``runs list``, ``runs compare`` and
``report`` name each damaged run on one line of stderr and go on with the others; none gives a traceback."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import TINY, assert_one_line_error, cli

from descentlab.runs import DamagedRun, find_runs, load_run


def _write(name: str, data: bytes | str) -> Callable[[Path], None]:
    def garble(run: Path) -> None:
        target = run / name
        if isinstance(data, bytes):
            target.write_bytes(data)
        else:
            target.write_text(data)

    return garble


def _edit_json(name: str, edit: Callable[[dict], object]) -> Callable[[Path], None]:
    def garble(run: Path) -> None:
        data = json.loads((run / name).read_text())
        replaced = edit(data)
        (run / name).write_text(json.dumps(data if replaced is None else replaced))

    return garble


def _edit_record(index: int, edit: Callable[[dict], object], name: str = "metrics.jsonl") -> Callable[[Path], None]:
    def garble(run: Path) -> None:
        lines = (run / name).read_text().splitlines()
        record = json.loads(lines[index])
        replaced = edit(record)
        lines[index] = json.dumps(record if replaced is None else replaced)
        (run / name).write_text("\n".join(lines) + "\n")

    return garble


def _folder(name: str) -> Callable[[Path], None]:
    def garble(run: Path) -> None:
        (run / name).unlink()
        (run / name).mkdir()

    return garble


def _fifo(name: str) -> Callable[[Path], None]:
    def garble(run: Path) -> None:  # a read of it would wait for a writer forever
        (run / name).unlink()
        os.mkfifo(run / name)

    return garble


# What a user, a full disk or another program can leave in a run folder; each is found by name.
GARBLED: dict[str, Callable[[Path], None]] = {
    "summary is a list": _write("summary.json", "[]"),
    "summary is empty": _write("summary.json", ""),
    "summary truncated": _write("summary.json", '{"status": "comp'),
    "summary not UTF-8": _write("summary.json", b'{"status": "\xff\xfe"}'),
    "summary metric null": _edit_json("summary.json", lambda d: d["metrics"].update({"val/loss": None})),
    "summary metric text": _edit_json("summary.json", lambda d: d["metrics"].update({"val/loss": "low"})),
    "summary metrics a list": _edit_json("summary.json", lambda d: d.update(metrics=[1, 2])),
    "metric null": _edit_record(1, lambda r: r.update({"train/loss": None})),
    "metric text": _edit_record(1, lambda r: r.update({"train/loss": "0.3"})),
    "metric too large": _edit_record(1, lambda r: r.update({"train/loss": 10**400})),
    "metric a bool": _edit_record(1, lambda r: r.update({"train/loss": True})),
    "record a list": _edit_record(1, lambda r: [1, 2]),
    "record without step": _edit_record(1, lambda r: r.pop("step")),
    "step negative": _edit_record(1, lambda r: r.update(step=-5)),
    "step text": _edit_record(0, lambda r: r.update(step="5"), name="timing.jsonl"),
    "metrics not UTF-8": _write("metrics.jsonl", b'{"step": 1, "train/loss": 0.5}\n\xff\xfe\n{"step": 2}\n'),
    "metrics line torn in the middle": _write("metrics.jsonl", '{"step": 1, "train/lo\n{"step": 2, "x": 1}\n'),
    "metrics a folder": _folder("metrics.jsonl"),
    "config is a list": _write("config.json", "[]"),
    "config empty": _write("config.json", ""),
    "config without experiment": _edit_json("config.json", lambda d: d.pop("experiment")),
    "config settings not an object": _edit_json("config.json", lambda d: d.update(config=5)),
    "config a folder": _folder("config.json"),
    "metrics nested 100,000 deep": _write(
        "metrics.jsonl", '{"step": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}\n" + '{"step": 2, "x": 1}\n'
    ),
    "summary nested 100,000 deep": _write("summary.json", '{"metrics": ' + "[" * 100_000 + "]" * 100_000 + "}"),
    "metrics a FIFO": _fifo("metrics.jsonl"),
    "summary a FIFO": _fifo("summary.json"),
}


@pytest.fixture(scope="module")
def good_runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("good") / "runs"
    for opt in ("sgd", "adam"):
        result = cli("optim", "train", *TINY, "--epochs", "1", "--optimizer", opt, "--out", str(root))
        assert result.returncode == 0, result.stderr
    return sorted((root / "optim-train").iterdir())


@pytest.fixture
def garbled(request: pytest.FixtureRequest, good_runs: list[Path], tmp_path: Path) -> tuple[Path, Path, Path]:
    """A copy of the two good runs under ``tmp_path/runs``, the first garbled as named: (root, bad, good)."""
    root = tmp_path / "runs"
    bad, good = (root / "optim-train" / p.name for p in good_runs)
    for src, dst in zip(good_runs, (bad, good), strict=True):
        shutil.copytree(src, dst)
    GARBLED[request.param](bad)
    return root, bad, good


def _names_the_damaged_run(stderr: str, bad: Path) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert lines[0].startswith("descentlab: warning: skipped damaged run ") and bad.name in lines[0], lines[0]


@pytest.mark.parametrize("garbled", list(GARBLED), indirect=True)
def test_runs_list_names_the_damaged_run_and_lists_the_others(garbled: tuple[Path, Path, Path]) -> None:
    root, bad, good = garbled
    result = cli("runs", "list", "--out", str(root))
    assert result.returncode == 0, result.stderr
    _names_the_damaged_run(result.stderr, bad)
    assert good.name in result.stdout and bad.name not in result.stdout


@pytest.mark.parametrize("garbled", list(GARBLED), indirect=True)
def test_runs_compare_names_the_damaged_run(garbled: tuple[Path, Path, Path]) -> None:
    _, bad, good = garbled
    result = cli("runs", "compare", str(bad), str(good))
    assert result.returncode == 0, result.stderr
    _names_the_damaged_run(result.stderr, bad)
    assert good.name in result.stdout
    # Only damaged runs named: one line per run, then a one-line error.
    only_bad = cli("runs", "compare", str(bad))
    assert only_bad.returncode == 2 and "Traceback" not in only_bad.stderr
    assert (
        only_bad.stderr.splitlines()[-1]
        == "descentlab: error: no run left to compare: every run folder named is damaged"
    )


@pytest.mark.parametrize("garbled", ["summary is a list", "metric null", "metrics not UTF-8", "config a folder",
                                     "metrics nested 100,000 deep", "metrics a FIFO"], indirect=True)  # fmt: skip
def test_report_skips_the_damaged_run(garbled: tuple[Path, Path, Path], tmp_path: Path) -> None:
    root, bad, _ = garbled
    out = tmp_path / "report.html"
    result = cli("report", str(root), "-o", str(out))
    assert result.returncode == 0, result.stderr
    _names_the_damaged_run(result.stderr, bad)
    section = out.read_text().split('<section class="run" id="optimization">', 1)[1].split("</section>", 1)[0]
    rows = re.findall(r"<tr><td>(\w+)</td>", section)  # the optimization table: one row per run
    assert rows == ["sgd"], rows  # the good run's; the damaged one (adam) is left out


@pytest.mark.parametrize("garbled", list(GARBLED), indirect=True)
def test_load_run_raises_damaged_run(garbled: tuple[Path, Path, Path]) -> None:
    root, bad, good = garbled
    with pytest.raises(DamagedRun) as caught:
        load_run(bad)
    assert str(bad) in str(caught.value) and "\n" not in str(caught.value)
    found = find_runs(root)
    assert [r.path for r in found.runs] == [good] and [p for p, _ in found.damaged] == [bad]


def test_report_output_that_cannot_be_written_is_refused_before_any_work(good_runs: list[Path], tmp_path: Path) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    result = cli("report", str(good_runs[0]), "-o", str(a_file / "sub" / "report.html"))
    assert_one_line_error(result, "--output", "is a file")
    (tmp_path / "r.html").mkdir()
    result = cli("report", str(good_runs[0]), "-o", str(tmp_path / "r.html"))
    assert_one_line_error(result, "--output", "is a folder")
    assert a_file.read_text() == "x"


def test_runs_list_with_every_run_damaged_is_one_error_after_the_warnings(
    good_runs: list[Path], tmp_path: Path
) -> None:
    root = tmp_path / "runs"
    bad = root / "optim-train" / good_runs[0].name
    shutil.copytree(good_runs[0], bad)
    (bad / "summary.json").write_text("[]")
    result = cli("runs", "list", "--out", str(root))
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("descentlab: warning: skipped damaged run")
    assert lines[1] == f"descentlab: error: no readable run under {root}: every run folder found is damaged"
