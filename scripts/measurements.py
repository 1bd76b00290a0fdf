"""Write ``docs/measurements.md`` from ``benchmarks/results/``: every recorded measurement, newest folder first.

Each folder of ``benchmarks/results/`` is one machine on one date (``cpu-2026-12-06``, ``h200-2026-11-26``);
each of its text files is what a benchmark printed there, its first lines naming the command, the machine
and the commit. This page collects them as they are (the raw ``.jsonl`` records are linked, not copied),
so that the README can stay a user's guide. Run it after adding results; ``tests/test_ci.py`` checks that
the page is what this script writes.

    .venv/bin/python scripts/measurements.py
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
OUT = REPO / "docs" / "measurements.md"
SHOWN = (".txt", ".md")  # printed tables and notes; .json and .jsonl are raw records, linked


def _date(folder: Path) -> str:
    return folder.name[-10:]  # ...-YYYY-MM-DD


def page(results: Path = RESULTS) -> str:
    """The page: a contents list, then each folder's files, newest folder first."""
    folders = sorted((f for f in results.iterdir() if f.is_dir()), key=lambda f: (_date(f), f.name), reverse=True)
    lines = [
        "# Measurements",
        "",
        "Written by `scripts/measurements.py` from `benchmarks/results/` (do not edit by hand): every table a",
        "benchmark printed, as it printed it, newest first. Each folder is one machine on one date; each",
        "table's first lines name the command, the machine and the commit that produced it.",
        "",
    ]
    lines += [f"- [{f.name}](#{f.name})" for f in folders]
    for folder in folders:
        lines += ["", f"## {folder.name}", ""]
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        raw = [p for p in files if p.suffix not in SHOWN]
        for p in (p for p in files if p.suffix in SHOWN):
            rel = f"benchmarks/results/{p.relative_to(results).as_posix()}"
            lines += [f"### `{p.relative_to(folder).as_posix()}`", "", f"From `{rel}`:", "", "```text"]
            lines += p.read_text(encoding="utf-8", errors="replace").rstrip("\n").splitlines()
            lines += ["```", ""]
        if raw:
            names = ", ".join(f"`benchmarks/results/{p.relative_to(results).as_posix()}`" for p in raw)
            lines += [f"Raw records: {names}."]
    return "\n".join(lines).rstrip("\n") + "\n"


def main() -> None:
    OUT.write_text(page(), encoding="utf-8")
    print(f"written: {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
