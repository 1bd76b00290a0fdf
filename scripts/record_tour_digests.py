"""Record the quick tour's fingerprints in ``tests/data/quick_tour_metrics.json``.

Runs ``descentlab tour --quick --seed 0`` (on one thread, as the test suite runs it) and writes, for every run, the digest of its metrics (bit for bit)
and its shape (the keys it logs, the steps it logs at), with the machine they were recorded on.
``tests/test_tour.py`` compares the shapes on any machine (the steps only of runs whose length their config
fixes) and the digests only on the machine that recorded them. A change that alters what a tour run logs
records the file again, and its commit says why:

    .venv/bin/python scripts/record_tour_digests.py [--because "what changed"]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from descentlab.runs.fingerprint import fingerprint, machine  # noqa: E402 - after the repository is on the path

OUT = REPO / "tests" / "data" / "quick_tour_metrics.json"
# The tour is recorded, and tested, on one thread, one run after another (the suite runs it beside its other
# tests; the parallel tour a user gets by default logs the same numbers: tests/test_tour.py's slow test).
TOUR_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}


def tour_command(out: str | Path) -> list[str]:
    return [sys.executable, "-m", "descentlab.cli.main", "tour", "--quick", "--seed", "0", "--out", str(out)]


def tour_fingerprints(root: Path) -> dict[str, dict[str, object]]:
    """Each run of the tour under ``root``, as ``experiment/name__seed``: its fingerprint."""
    out = {}
    for folder in sorted(p.parent for p in root.glob("*/*/metrics.jsonl")):
        name, seed, _ = folder.name.split("__")
        out[f"{folder.parent.name}/{name}__{seed}"] = fingerprint(folder)
    return out


def tour_machine(tour: Path) -> dict[str, object]:
    """The machine the tour under ``tour`` ran on: this CPU, and the kernels, threads and torch its
    ``claims.json`` says it used."""
    info = json.loads((tour / "claims.json").read_text())
    return {**machine(), **{k: info[k] for k in ("cpu_capability", "threads", "torch")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--because", default="", help="why the tour's metrics changed, kept in the file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, **TOUR_ENV}
        done = subprocess.run(tour_command(tmp), cwd=REPO, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise SystemExit(f"the quick tour failed:\n{done.stderr[-3000:]}")
        runs, recorded_on = tour_fingerprints(Path(tmp) / "tour"), tour_machine(Path(tmp) / "tour")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout
    data = {
        "about": (
            "Written by scripts/record_tour_digests.py: the fingerprints of descentlab tour --quick --seed 0, "
            "each run's digest (sha256 of its metrics.jsonl records as written), the keys it logs and a digest "
            "of the steps it logs at. tests/test_tour.py compares the keys and (for runs whose length the "
            "config fixes) the steps on any machine, the digests only on this file's machine."
        ),
        "because": args.because,
        "recorded": f"{datetime.date.today().isoformat()}, at commit {commit.strip() or 'unknown'}",
        "machine": recorded_on,
        "runs": runs,
    }
    OUT.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"{len(runs)} runs recorded in {OUT.relative_to(REPO)} on {data['machine']}")


if __name__ == "__main__":
    main()
