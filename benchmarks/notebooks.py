"""How long each notebook of ``descentlab notebooks`` takes to run top to bottom in a fresh Jupyter kernel.

    python benchmarks/notebooks.py [--only 03-generalization,...] [--out FILE]

Writes the notebooks into a temporary folder, runs each with nbclient and ipykernel (as a student's "Run All"
does, in the notebook's folder), and prints a table: seconds (the kernel's start included), code cells, the
claims that held and did not, and error outputs. The targets: each notebook at most 120 s on two CPU cores,
all eight at most 600 s.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient

from descentlab.labbook.notebooks import write_notebooks

REPO = Path(__file__).resolve().parents[1]
EACH, ALL = 120.0, 600.0


def run(path: Path) -> tuple[float, int, int, int, int]:
    """Seconds, code cells, claims held, claims not held, error outputs."""
    nb = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - started
    code = [c for c in nb.cells if c.cell_type == "code"]
    outs = [o for c in code for o in c.get("outputs", [])]
    text = "\n".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in outs)
    held = text.count("  Holds in this run: ")
    failed = text.count("  Does not hold in this run: ")
    errors = sum(o["output_type"] == "error" for o in outs)
    return seconds, len(code), held, failed, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated notebook names without .ipynb (default: all)")
    parser.add_argument("--out", default="", help="also write the table to this file")
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    lines = [
        f"descentlab notebooks run top to bottom (nbclient, a fresh ipykernel each), at {commit.stdout.strip()}",
        f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}",
        f"targets: each at most {EACH:.0f} s, all at most {ALL:.0f} s",
        "",
        f"{'notebook':<22} {'seconds':>8} {'cells':>6} {'claims held':>12} {'not held':>9} {'errors':>7}",
    ]  # fmt: skip
    print("\n".join(lines), flush=True)
    total = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        paths = [p for p in write_notebooks(tmp) if p.name != "index.ipynb"]
        if args.only:
            paths = [p for p in paths if p.stem in args.only.split(",")]
        worst = 0.0
        for path in paths:
            seconds, cells, held, failed, errors = run(path)
            total += seconds
            worst = max(worst, seconds)
            line = f"{path.stem:<22} {seconds:>8.1f} {cells:>6} {held:>12} {failed:>9} {errors:>7}"
            lines.append(line)
            print(line, flush=True)
    verdict = (f"all {len(paths)}: {total:.1f} s ({'met' if total <= ALL else 'MISSED'}); longest {worst:.1f} s "
               f"({'met' if worst <= EACH else 'MISSED'})")  # fmt: skip
    lines.append(verdict)
    print(verdict)
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
