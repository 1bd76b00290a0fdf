"""How long a student waits for ``descentlab exercise check``, and a teacher for ``exercise grade``.

1. Check: ``descentlab exercise check tests/exercise_solutions/NAME.py`` for every exercise, as a student
   runs it (a new process: starting Python, importing torch and the exercises, drawing the cases, computing
   the reference and the known mistakes, running the solution in its own process), wall-clock seconds, the
   median of ``--rounds``. Beside it, in the same rounds, the floor every torch-based checker pays:
   ``python -c "import torch"``; the ratio says how much the check adds to it. Target: under 5 s
   on the 2-core CPU machine for each exercise.
2. Grade: a class of ``--students`` students, each submitting the four exercises of the class test (the
   independent solutions), graded as a teacher does (``exercise grade``: each student's exercises in one
   bubblewrap sandbox, whose Python imports torch afresh), against the same class graded ``--no-sandbox``
   (one process per student and exercise, forked from a server that has imported torch), rounds
   interleaved. Target: the sandbox at most 1.5 times the unsandboxed time. ``--one-by-one``
   adds one ``exercise check`` process per student and exercise, the way a script around the check command
   would.

    python benchmarks/exercises.py [--rounds 3] [--students 30] [--only grade] [--one-by-one]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "tests" / "exercise_solutions"
GRADED = ("gd_step", "adam_step", "dropout", "q_update")


def seconds(command: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    took = time.perf_counter() - start
    if done.returncode not in (0,):
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stdout[-500:]} {done.stderr[-500:]}")
    return took


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--only", choices=["check", "grade"], help="run one of the two parts")
    parser.add_argument("--one-by-one", action="store_true", help="also time one exercise check process per check")
    args = parser.parse_args()
    from descentlab.exercises import NAMES

    descentlab = str(Path(sys.executable).parent / "descentlab")
    if args.only != "grade":
        check_part(descentlab, NAMES, args.rounds)
    if args.only != "check":
        grade_part(descentlab, args.rounds, args.students, args.one_by_one)


def check_part(descentlab: str, names: tuple[str, ...], rounds: int) -> None:
    floor: list[float] = []
    checks: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(rounds):
        for name in names:
            floor.append(seconds([sys.executable, "-c", "import torch"]))
            checks[name].append(
                seconds([descentlab, "exercise", "check", str(SOLUTIONS / f"{name}.py"), "--seed", "0"])
            )
    base = median(floor)
    print(f"exercise check of a correct solution, median of {rounds} (python -c 'import torch': {base:.2f} s)\n")
    print(f"{'exercise':20} {'check (s)':>10} {'import torch (s)':>17} {'ratio':>7} {'under 5 s':>10}")
    for name in names:
        took = median(checks[name])
        print(f"{name:20} {took:10.2f} {base:17.2f} {took / base:7.2f} {'yes' if took < 5 else 'NO':>10}")
    worst = max(median(v) for v in checks.values())
    print(f"\nslowest: {worst:.2f} s (target: under 5 s)")


def grade_part(descentlab: str, rounds: int, students: int, one_by_one: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "class"
        for i in range(students):
            for name in GRADED:
                (root / f"s{i:02d}").mkdir(parents=True, exist_ok=True)
                shutil.copy(SOLUTIONS / f"{name}.py", root / f"s{i:02d}" / f"{name}.py")
        out = str(Path(tmp) / "grades.csv")
        line = [descentlab, "exercise", "grade", str(root), "--seed", "0", "--out", out]
        sandboxed, unconfined = [], []
        for _ in range(rounds):  # interleaved, so that the machine's drift falls on both
            sandboxed.append(seconds(line))
            unconfined.append(seconds([*line, "--no-sandbox"]))
        apart = 0.0
        if one_by_one:
            for i in range(students):
                for name in GRADED:
                    apart += seconds(
                        [descentlab, "exercise", "check", str(root / f"s{i:02d}" / f"{name}.py"), "--seed", "0"]
                    )
    count = students * len(GRADED)
    box, free = median(sandboxed), median(unconfined)
    print(f"\ngrading {students} students x {len(GRADED)} exercises ({count} checks), median of {rounds} rounds\n")
    print(f"{'how':58} {'seconds':>8} {'per check':>10} {'ratio':>7}")
    print(f"{'descentlab exercise grade --no-sandbox (fork server)':58} {free:8.1f} {free / count:10.3f} {1.0:7.2f}")
    print(f"{'descentlab exercise grade (bubblewrap, one sandbox a student)':58} {box:8.1f} {box / count:10.3f} "
          f"{box / free:7.2f}")  # fmt: skip
    if one_by_one:
        print(f"{'one descentlab exercise check per check':58} {apart:8.1f} {apart / count:10.3f} {apart / free:7.2f}")
    print(f"\nsandboxed / unsandboxed: {box / free:.2f} (target: at most 1.5)")


if __name__ == "__main__":
    main()
