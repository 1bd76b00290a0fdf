"""The claims benchmark: every claim of the lab book at many seeds, under several CPU kernels and thread counts.

Each (seed, condition) is one ``descentlab tour`` (``--quick`` at quick scale) in a process of its own, whose
``claims.json`` gives each claim's verdict and margin (the claim's number against its threshold as a ratio:
1.0 is the edge, see :mod:`descentlab.report.claim`). A condition is a value of ``ATEN_CPU_CAPABILITY`` (with
oneDNN's ``DNNL_MAX_CPU_ISA`` to match), which selects the vectorized kernels torch uses and so stands in
for another CPU on this one, and a thread count (``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``). A capability
the CPU lacks is skipped with its reason (torch would stop at an illegal instruction).

The table gives, for every claim: how many seeds it held at under each condition, the median and worst
margin over all of them, and where the worst was. A claim passes at quick scale when it holds at 19 of
every 20 seeds under every condition, at full scale when it holds at every seed.

    python benchmarks/claims.py --scale quick --seeds 0-19
    python benchmarks/claims.py --scale full --seeds 0-4 --cpu-capability default,avx2,avx512 --threads 1,2
    python benchmarks/claims.py --scale quick --seeds 20-24 --chapter rnn      # one chapter's claims

Worker processes: as many as there are cores divided by the thread count (``--workers`` to choose). Every
tour's claims are appended to ``claims-SCALE.jsonl`` beside the table as it ends, so a run that is stopped
continues where it was (the same command again), ``--again`` runs again every tour not recorded at the
current commit (the others stay in the file: the table takes the latest), and ``--fresh`` starts over. The table goes to
``benchmarks/results/cpu-DATE/claims.txt`` (``--out``), which keeps one part for each scale.

A chapter run again (``--chapter``, after its demonstration changed) goes to ``claims-SCALE-CHAPTER.jsonl``;
the table of the whole tour takes that chapter's claims from there, for every (seed, condition) the chapter
was run at after the whole tour was, and says so. Every record names the commit it ran. ``--recorded`` runs
no tour and writes the table of the conditions asked for that have tours recorded (naming those that have
none).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
DNNL_ISA = {"default": "SSE41", "avx2": "AVX2", "avx512": "AVX512_CORE"}  # oneDNN's ceiling for each capability
NEEDS = {"default": set(), "avx2": {"avx2", "fma"}, "avx512": {"avx512f", "avx512bw", "avx512vl", "avx512dq"}}
NATIVE = "native"


def cpu_flags() -> set[str]:
    info = Path("/proc/cpuinfo")
    for line in info.read_text().splitlines() if info.is_file() else []:
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def cpu_name() -> str:
    info = Path("/proc/cpuinfo")
    for line in info.read_text().splitlines() if info.is_file() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def unsupported(capability: str, flags: set[str]) -> str:
    """Why this CPU cannot run torch's kernels of ``capability`` ("" if it can)."""
    if capability == NATIVE or not flags:
        return ""
    missing = sorted(NEEDS[capability] - flags)
    return f"this CPU lacks {', '.join(missing)}" if missing else ""


def seeds_of(text: str) -> list[int]:
    """``0-19`` or ``0,3,5-7``: the seeds, in order."""
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        try:
            first, last = int(lo), int(hi or lo)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a list of seeds; valid: e.g. 0-19 or 0,3,5-7") from None
        if first < 0 or last < first:
            raise argparse.ArgumentTypeError(
                f"{part!r} is not a range of seeds; valid: FIRST-LAST with 0 <= FIRST <= LAST"
            )
        out += range(first, last + 1)
    return out


def choices(valid: Iterable[str]) -> type:
    allowed = tuple(valid)

    def parse(text: str) -> list[str]:
        items = [t.strip() for t in text.split(",") if t.strip()]
        bad = [t for t in items if t not in allowed]
        if bad or not items:
            raise argparse.ArgumentTypeError(f"{text!r}; valid: a comma list of {', '.join(allowed)}")
        return items

    return parse  # type: ignore[return-value]


def thread_counts(text: str) -> list[int]:
    try:
        counts = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        counts = []
    if not counts or not all(1 <= c <= 256 for c in counts):
        raise argparse.ArgumentTypeError(f"{text!r}; valid: a comma list of thread counts from 1 to 256, e.g. 1,2")
    return counts


def condition_name(capability: str, threads: int) -> str:
    return f"{capability}/{threads}t"


def run_tour(scale: str, seed: int, capability: str, threads: int, chapter: str, keep: Path | None) -> dict:
    """One tour in a process of its own under the condition; its claims, seconds and what torch reported."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "PYTHONPATH": str(REPO)}
    if capability != NATIVE:
        env["ATEN_CPU_CAPABILITY"] = capability
        env["DNNL_MAX_CPU_ISA"] = DNNL_ISA[capability]
        # inductor's on-disk kernels are not keyed by the capability: one cache per capability
        env["TORCHINDUCTOR_CACHE_DIR"] = str(Path(tempfile.gettempdir()) / f"torchinductor-claims-{capability}")
    tmp = Path(tempfile.mkdtemp(prefix=f"claims-{scale}-{seed}-"))
    line = [
        sys.executable,
        "-m",
        "descentlab",
        "tour",
        "--seed",
        str(seed),
        "--out",
        str(tmp),
        "--device",
        "cpu",
        "--jobs",
        "1",
    ]  # one run after another, each on the condition's threads
    line += ["--quick"] if scale == "quick" else []
    line += ["--chapter", chapter] if chapter else []
    started = time.time()
    try:
        done = subprocess.run(line, capture_output=True, text=True, env=env, cwd=tmp)
        record: dict = {"scale": scale, "seed": seed, "capability": capability, "threads": threads,
                        "chapter": chapter, "seconds": round(time.time() - started, 1), "commit": COMMIT,
                        "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}  # fmt: skip
        claims = tmp / "tour" / "claims.json"
        if done.returncode != 0 or not claims.is_file():
            record["error"] = f"exit {done.returncode}: {done.stderr.strip().splitlines()[-1:] or ['no output']}"
            return record
        data = json.loads(claims.read_text())
        record["cpu_capability"], record["torch_threads"] = data["cpu_capability"], data["threads"]
        record["claims"] = [{k: c[k] for k in ("id", "text", "holds", "margin", "evidence")} for c in data["claims"]]
        return record
    finally:
        if keep is not None:
            shutil.copytree(tmp, keep / f"{scale}-{condition_name(capability, threads).replace('/', '-')}-{seed}",
                            dirs_exist_ok=True)  # fmt: skip
        shutil.rmtree(tmp, ignore_errors=True)


def commit() -> str:
    """The commit of the code the tours run (with ``+`` where the working tree differs from it)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True)  # fmt: skip
    except OSError:
        return "unknown"
    return head.stdout.strip() + ("+" if dirty.stdout.strip() else "") if head.returncode == 0 else "unknown"


COMMIT = commit()


def with_reruns(records: list[dict], reruns: dict[str, list[dict]]) -> tuple[list[dict], list[str]]:
    """``records`` of whole tours with the claims of each chapter run again after them taken from its rerun
    (the latest rerun of the same scale, seed and condition that finished after the tour): every claim of
    the rerun's sections is replaced, so a claim the chapter added or dropped is added or dropped too; and a
    line for each chapter saying how many it replaced."""
    out, notes = [], []
    replaced = {chapter: 0 for chapter in reruns}
    for r in records:
        if "error" in r:
            out.append(r)
            continue
        claims = list(r["claims"])
        for chapter, runs in reruns.items():
            later = [x for x in runs if "error" not in x and (x["capability"], x["threads"], x["seed"])
                     == (r["capability"], r["threads"], r["seed"]) and x.get("finished", "") > r.get("finished", "")]  # fmt: skip
            if not later:
                continue
            new = max(later, key=lambda x: x["finished"])["claims"]
            sections = {c["id"].split("#")[0] for c in new}  # the chapter's sections: all of their claims go
            kept = [i for i, c in enumerate(claims) if c["id"].split("#")[0] not in sections]
            at = next((i for i in range(len(claims)) if i not in kept), len(claims))  # where the chapter was
            claims = [claims[i] for i in kept if i < at] + list(new) + [claims[i] for i in kept if i > at]
            replaced[chapter] += 1
        out.append({**r, "claims": claims})
    for chapter, n in replaced.items():
        if n:
            commits = sorted({x.get("commit", "?") for x in reruns[chapter]})
            notes.append(f"chapter {chapter}: its claims from claims-{records[0]['scale']}-{chapter}.jsonl (run "
                         f"again at {', '.join(commits)}) for {n} of the {len(records)} tours")  # fmt: skip
    return out, notes


def fmt_margin(m: float) -> str:
    if math.isinf(m):
        return "inf"
    return f"{m:.3g}" if m < 1000 else f"{m:.2e}"


def allowed_failures(scale: str, seeds: int) -> int:
    """Quick scale: one seed in 20 may fail (19 of 20); full scale: none."""
    return seeds // 20 if scale == "quick" else 0


def table(scale: str, records: list[dict], conditions: list[tuple[str, int]], seeds: list[int], skipped: list[str],
          machine: str, notes: Iterable[str] = ()) -> str:  # fmt: skip
    """The table of every claim over the records of ``seeds`` under ``conditions``."""
    names = [condition_name(*c) for c in conditions]
    by_claim: dict[str, dict] = {}
    errors = []
    for r in records:
        cond = condition_name(r["capability"], r["threads"])
        if "error" in r:
            errors.append(f"seed {r['seed']} under {cond}: {r['error']}")
            continue
        for c in r["claims"]:
            entry = by_claim.setdefault(c["id"], {"text": c["text"], "held": {n: 0 for n in names},
                                                  "runs": {n: 0 for n in names}, "margins": []})  # fmt: skip
            entry["held"][cond] += bool(c["holds"])
            entry["runs"][cond] += 1
            margin = math.inf if c["margin"] is None else float(c["margin"])
            entry["margins"].append((margin, r["seed"], cond))
    n = len(seeds)
    allowed = allowed_failures(scale, n)
    lines = [
        f"claims at {scale} scale: seeds {seeds[0]}-{seeds[-1]} ({n}), under {', '.join(names)} (capability/threads)",
        f"machine: {machine}",
        f"required: every claim holds at {n - allowed} of {n} seeds or more under every condition",
    ]
    commits = sorted({r.get("commit", "not recorded") for r in records})
    lines.append(f"code: {', '.join(commits)}")
    lines += list(notes)
    lines += [f"skipped: {s}" for s in skipped]
    lines += [f"failed run: {e}" for e in errors]
    width = max([len(k) for k in by_claim] + [5])
    head = f"{'claim':<{width}}  " + "  ".join(f"{c:>10}" for c in names)
    lines += ["", head + f"  {'median':>8}  {'worst':>8}  worst at{'':<16}  ok   text"]
    passing = partial = 0
    for key, e in by_claim.items():
        held = [f"{e['held'][c]}/{e['runs'][c]}" for c in names]
        failed = any(e["runs"][c] - e["held"][c] > allowed for c in names)
        complete = all(e["runs"][c] == n for c in names)  # a seed not yet run under a condition is not a pass
        ok = "NO" if failed else "yes" if complete else "part"
        passing += ok == "yes"
        partial += ok == "part"
        margins = [m for m, _, _ in e["margins"]]
        worst, seed, cond = min(e["margins"], key=lambda t: t[0])
        text = e["text"] if len(e["text"]) <= 90 else e["text"][:87] + "..."
        lines.append(f"{key:<{width}}  " + "  ".join(f"{h:>10}" for h in held)
                     + f"  {fmt_margin(statistics.median(margins)):>8}  {fmt_margin(worst):>8}  "
                     + f"{f'seed {seed} {cond}':<24}  {ok:<4} {text}")  # fmt: skip
    lines += ["", f"{passing} of {len(by_claim)} claims meet the requirement"
              + (f"; {partial} held so far where measured, but not yet at every seed under every condition (part)"
                 if partial else "")]  # fmt: skip
    seconds = [r["seconds"] for r in records if "error" not in r]
    if seconds:
        lines.append(f"one tour: median {statistics.median(seconds):.0f} s, longest {max(seconds):.0f} s "
                     f"({len(records)} tours)")  # fmt: skip
    return "\n".join(lines) + "\n"


def write_part(path: Path, scale: str, text: str) -> None:
    """Replace this scale's part of ``claims.txt``, keeping the other scale's."""
    parts: dict[str, str] = {}
    if path.is_file():
        current = None
        for line in path.read_text().splitlines(keepends=True):
            if line.startswith("=== scale "):
                current = line.split()[2]
                parts[current] = ""
            elif current is not None:
                parts[current] += line
    parts[scale] = text
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(f"=== scale {s} ===\n{parts[s].rstrip()}\n" for s in ("quick", "full") if s in parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=("quick", "full"), default="quick")
    parser.add_argument("--seeds", type=seeds_of, default=None, help="e.g. 0-19 (quick) or 0-4 (full), the default")
    parser.add_argument("--cpu-capability", type=choices([NATIVE, *DNNL_ISA]), default=[NATIVE],
                        help="comma list of ATEN_CPU_CAPABILITY values (native: what torch picks)")  # fmt: skip
    parser.add_argument("--threads", type=thread_counts, default=None, help="comma list (default: the core count)")
    parser.add_argument("--workers", type=int, default=0, help="tours at once (default: cores / threads)")
    parser.add_argument("--chapter", default="", help="one chapter's claims (descentlab tour --chapter)")
    parser.add_argument(
        "--out", type=Path, default=None, help="folder of claims.txt (default benchmarks/results/cpu-DATE)"
    )
    parser.add_argument("--fresh", action="store_true", help="forget the tours already recorded in the folder")
    parser.add_argument("--again", action="store_true",
                        help="run again every tour not recorded at this commit (after a demonstration changed)")  # fmt: skip
    parser.add_argument("--keep-runs", type=Path, default=None, help="copy every tour's run folders here")
    parser.add_argument("--recorded", action="store_true",
                        help="run no tour: the table of the conditions asked for that have tours recorded")  # fmt: skip
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    seeds = args.seeds if args.seeds is not None else list(range(20 if args.scale == "quick" else 5))
    threads = args.threads or [cores]
    if args.workers < 0 or args.workers > 256:
        parser.error(f"--workers: {args.workers} is out of range; valid: 0 (cores / threads) to 256")
    out = args.out or REPO / "benchmarks" / "results" / f"cpu-{datetime.date.today().isoformat()}"
    out.mkdir(parents=True, exist_ok=True)
    raw = out / f"claims-{args.scale}{'-' + args.chapter if args.chapter else ''}.jsonl"
    if args.fresh and raw.is_file():
        raw.unlink()
    records = [json.loads(line) for line in raw.read_text().splitlines() if line.strip()] if raw.is_file() else []

    flags = cpu_flags()
    conditions, skipped = [], []
    for cap in args.cpu_capability:
        why = unsupported(cap, flags)
        if why:
            skipped.append(f"ATEN_CPU_CAPABILITY={cap}: {why}, so torch would stop at an illegal instruction")
            continue
        conditions += [(cap, t) for t in threads]
    done = {(r["capability"], r["threads"], r["seed"]) for r in records
            if "error" not in r and (not args.again or r.get("commit") == COMMIT)}  # fmt: skip
    if args.recorded:
        missing = [c for c in conditions if not any((*c, s) in done for s in seeds)]
        skipped += [f"{condition_name(*c)}: no tour recorded" for c in missing]
        conditions = [c for c in conditions if c not in missing]
    for cap, t in conditions if not args.recorded else []:
        jobs = [s for s in seeds if (cap, t, s) not in done]
        workers = args.workers or max(1, cores // t)
        print(f"{condition_name(cap, t)}: {len(jobs)} tours to run ({len(seeds) - len(jobs)} recorded), "
              f"{workers} at once", flush=True)  # fmt: skip
        with ThreadPoolExecutor(workers) as pool:
            pending: set[Future] = {pool.submit(run_tour, args.scale, s, cap, t, args.chapter, args.keep_runs)
                                    for s in jobs}  # fmt: skip
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    r = f.result()
                    failed = [c["id"] for c in r.get("claims", []) if not c["holds"]]
                    print(f"  seed {r['seed']} {condition_name(cap, t)}: {r['seconds']:.0f} s, "
                          + (r["error"] if "error" in r else f"{len(r['claims']) - len(failed)} of {len(r['claims'])} "
                             f"hold" + (f" (not: {', '.join(failed)})" if failed else "")), flush=True)  # fmt: skip
                    records = [x for x in records if (x["capability"], x["threads"], x["seed"]) != (cap, t, r["seed"])]
                    records.append(r)
                    with raw.open("a") as fh:
                        fh.write(json.dumps(r) + "\n")
    wanted = {(c, t, s) for c, t in conditions for s in seeds}
    latest = {(r["capability"], r["threads"], r["seed"]): r for r in records}
    chosen = [latest[k] for k in sorted(wanted) if k in latest]
    machine = f"{cpu_name()} ({cores} cores), torch {torch.__version__}, native capability " \
              f"{torch.backends.cpu.get_cpu_capability()}"  # fmt: skip
    notes: list[str] = []
    if not args.chapter:
        reruns = {}
        for f in sorted(out.glob(f"claims-{args.scale}-*.jsonl")):
            reruns[f.stem.split("-", 2)[2]] = [json.loads(x) for x in f.read_text().splitlines() if x.strip()]
        chosen, notes = with_reruns(chosen, reruns)
    text = table(args.scale, chosen, conditions, seeds, skipped, machine, notes)
    print(text)
    if not args.chapter:
        write_part(out / "claims.txt", args.scale, text)
        print(f"written to {out / 'claims.txt'}")


if __name__ == "__main__":
    main()
