"""Checks under bubblewrap: a student's code in namespaces of its own, able only to return numbers.

:func:`run_sandboxed` runs one student's exercises in one ``bwrap`` sandbox (bubblewrap, the sandbox of
Flatpak): new user, PID, network, IPC, UTS and cgroup namespaces (no signal reaches the grader or another
student, no network), every capability dropped, the system and the Python environment mounted read-only,
no ``$HOME`` and no other student's files, an empty size-limited tmpfs as the working folder holding only
that student's own files, a cleared environment, ``--die-with-parent`` and a session of its own. Inside,
:mod:`descentlab.exercises.inside` (run by its path; the library itself is not in the sandbox) limits its
memory, CPU time, file size and processes, runs each exercise and sends back only the outputs, as frames
through a pipe the grader owns. Each frame is read with ``weights_only=True`` and checked against a strict
schema (:func:`valid_output`); anything else is that student's "malformed result". The whole namespace is
killed when an exercise passes its time limit; the exercises after it run in a new sandbox.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import torch

import descentlab
from descentlab.exercises import inside
from descentlab.exercises.sandbox import (
    MAX_RECORD,
    Malformed,
    Outcome,
    new_outcome,
    read_record,
    record_onto,
    unfinished,
)

STARTUP_SECONDS = 120.0  # for the sandbox's Python to import torch, on a busy machine
WORK_MB = 64  # the sandbox's working folder and /tmp, each
WORKDIR = "/submission"  # the working folder inside (not a path of the host, whose folders it would hide)
PROCESSES = 64  # processes and threads a sandbox may have (a pids cgroup where one can be made, else RLIMIT_NPROC)
INSTALL = "install bubblewrap (Debian and Ubuntu: apt-get install bubblewrap; bash scripts/setup.sh does it)"


@dataclass(frozen=True)
class Exercise:
    """One exercise for the sandbox: the code blocks, the function's name and parameters, the cases' arguments."""

    blocks: tuple[tuple[str, str], ...]
    function: str
    parameters: tuple[str, ...]
    cases: tuple[tuple[Any, ...], ...]

    def payload(self) -> dict[str, Any]:
        return {"blocks": [tuple(b) for b in self.blocks], "function": self.function,
                "parameters": list(self.parameters), "cases": [tuple(c) for c in self.cases]}  # fmt: skip


# ---- the sandbox ----------------------------------------------------------------------------------------


def _system_binds() -> list[str]:
    """/usr read-only, and /bin, /lib, /lib64, /sbin as they are on this machine (links into /usr, or folders)."""
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/lib", "/lib32", "/lib64", "/sbin"):
        p = Path(top)
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), top]
        elif p.is_dir():
            args += ["--ro-bind", top, top]
    return args


def _python_binds(allow_library: bool) -> list[str]:
    """Python and its packages read-only; the library hidden unless ``allow_library``."""
    roots: list[Path] = []
    for p in (Path(sys.base_prefix), Path(sys.prefix), Path(torch.__file__).resolve().parents[1]):
        p = p.resolve()
        if not any(p == r or p.is_relative_to(r) for r in roots):
            roots = [r for r in roots if not r.is_relative_to(p)] + [p]
    args: list[str] = []
    for r in roots:
        args += ["--ro-bind", str(r), str(r)]
    library = Path(descentlab.__file__).resolve().parent
    inside_bound = any(library.is_relative_to(r) for r in roots)
    if allow_library and not inside_bound:
        args += ["--ro-bind", str(library), str(library)]
    elif not allow_library and inside_bound:
        args += ["--tmpfs", str(library)]  # installed beside torch: an empty folder in its place
    return args


def command(allow_library: bool = False) -> list[str]:
    """The ``bwrap`` command line that runs :mod:`inside` in a new sandbox; the number of the file descriptor
    it writes its records to goes after it."""
    exe = shutil.which("bwrap") or "bwrap"
    size = str(WORK_MB * 2**20)
    return [
        exe, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
        # the empty folders first: Python and the library, bound after them, may live under /tmp
        "--proc", "/proc", "--dev", "/dev", "--size", size, "--tmpfs", "/tmp", "--size", size, "--tmpfs", WORKDIR,
        *_system_binds(), *_python_binds(allow_library),
        "--ro-bind", str(Path(inside.__file__).resolve()), "/sandbox/inside.py", "--chdir", WORKDIR,
        "--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", WORKDIR, "--setenv", "LANG", "C.UTF-8",
        "--setenv", "OMP_NUM_THREADS", "1", "--setenv", "MKL_NUM_THREADS", "1",
        "--", sys.executable, "-I", "-B", "/sandbox/inside.py",
    ]  # fmt: skip


@cache
def unavailable() -> str:
    """Why checks cannot run under bubblewrap on this machine ("" when they can)."""
    if shutil.which("bwrap") is None:
        return f"bubblewrap (bwrap) is not installed: {INSTALL}"
    try:
        trial = subprocess.run(
            [*command()[: command().index("--")], "--", "/bin/sh", "-c", "exit 0"],
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"bubblewrap did not start ({type(e).__name__}: {e})"
    if trial.returncode != 0:
        why = (trial.stderr.strip().splitlines() or ["no message"])[-1][:200]
        return f"bubblewrap cannot make its namespaces here ({why}); it needs user namespaces enabled"
    return ""


# ---- a limit on processes ----------------------------------------------------------------------------------

_COUNTER = itertools.count()


def pids_cgroup() -> Path | None:
    """A new cgroup whose ``pids.max`` is ``PROCESSES``, where this process may make one (root, with cgroup v2's
    pids controller or v1's pids hierarchy); None elsewhere, where RLIMIT_NPROC limits processes instead (the
    kernel does not apply it to root)."""
    for base in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/pids")):
        if not (base / "cgroup.procs").is_file() or not os.access(base, os.W_OK):
            continue
        group = base / f"descentlab-grade-{os.getpid()}-{next(_COUNTER)}"
        try:
            group.mkdir()
            (group / "pids.max").write_text(str(PROCESSES))
            return group
        except OSError:
            with contextlib.suppress(OSError):
                group.rmdir()
    return None


def _in_cgroup(group: Path | None, line: list[str]) -> list[str]:
    """``line`` run as a member of ``group`` (a shell joins it, then becomes the command)."""
    if group is None:
        return line
    return ["/bin/sh", "-c", 'echo $$ > "$1" && shift && exec "$@"', "sh", str(group / "cgroup.procs"), *line]


def _remove(group: Path | None) -> None:
    """Kill whatever is left in ``group``, then remove it."""
    for _ in range(100):
        if group is None or not group.exists():
            return
        with contextlib.suppress(OSError, ValueError):
            for pid in (group / "cgroup.procs").read_text().split():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(pid), signal.SIGKILL)
        try:
            group.rmdir()
            return
        except OSError:  # its last processes are still being reaped
            time.sleep(0.05)


# ---- running one student's exercises -------------------------------------------------------------------


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        proc.kill()  # bwrap; --die-with-parent takes the namespace's first process, and with it every other
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


class _Frames:
    """Frames from the sandbox's pipe, each within a deadline."""

    def __init__(self, fd: int) -> None:
        self.fd, self.buffer, self.closed = fd, b"", False

    def next(self, deadline: float) -> bytes | None:
        """The next frame's bytes; None at the deadline or at the end of the pipe. :class:`Malformed` for
        a frame over ``MAX_RECORD``."""
        while True:
            if len(self.buffer) >= inside.FRAME.size:
                (size,) = inside.FRAME.unpack_from(self.buffer)
                if size > MAX_RECORD:
                    raise Malformed(f"an output over {MAX_RECORD // 2**20} MiB")
                if len(self.buffer) >= inside.FRAME.size + size:
                    data = self.buffer[inside.FRAME.size : inside.FRAME.size + size]
                    self.buffer = self.buffer[inside.FRAME.size + size :]
                    return data
            if self.closed:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(self.fd, 1 << 20)
                if not chunk:
                    self.closed = True
                self.buffer += chunk


def _one_sandbox(
    exercises: Sequence[Exercise], files: Sequence[tuple[str, bytes]], timeout: float, memory_mb: int,
    allow_library: bool,
) -> tuple[list[Outcome], bool]:  # fmt: skip
    """Run ``exercises`` in one new sandbox, in order; their outcomes as far as they got, and whether the
    sandbox was stopped (by a time limit, a malformed record or its end) before the last one finished."""
    payload = {"exercises": [e.payload() for e in exercises], "files": list(files), "memory_mb": int(memory_mb),
               "cpu_seconds": int(timeout * len(exercises)) + 5, "processes": PROCESSES,
               "allow_library": allow_library}  # fmt: skip
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    read_end, write_end = os.pipe()
    outcomes: list[Outcome] = []
    group = pids_cgroup()
    try:
        proc = subprocess.Popen(
            _in_cgroup(group, [*command(allow_library), str(write_end)]), stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write_end,),
        )  # fmt: skip
    except BaseException:
        _remove(group)
        raise
    finally:
        os.close(write_end)
    frames = _Frames(read_end)
    stopped = True
    try:
        assert proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.write(buffer.getvalue())
            proc.stdin.close()
        deadline = time.monotonic() + STARTUP_SECONDS
        current: Outcome | None = None
        records: list[dict[str, Any]] = []
        started = 0.0
        while True:
            cases = len(exercises[len(outcomes) - 1].cases) if outcomes else 0  # of the exercise under way
            try:
                data = frames.next(deadline)
                record = None if data is None else read_record(data, cases)
            except Malformed as e:
                if current is not None:
                    current.problem = f"malformed result: {e}"
                break
            if record is None:  # the deadline, or the sandbox ended
                if current is not None:
                    late = time.monotonic() >= deadline
                    unfinished(current, records, late, timeout, _why_ended(late, timeout, proc))
                break
            if record["kind"] == "start":
                if record["exercise"] != len(outcomes) or record["exercise"] >= len(exercises):
                    if current is not None:
                        current.problem = "malformed result: an exercise started out of order"
                    break
                current = new_outcome(len(exercises[len(outcomes)].cases))
                outcomes.append(current)
                records = []
                started = time.monotonic()
                deadline = started + timeout
                continue
            if current is None:
                break  # a record before any exercise started: the sandbox is not speaking the protocol
            records.append(record)
            current.seconds = time.monotonic() - started
            record_onto(current, record)
            if record["kind"] in ("problem", "done"):  # this exercise is over
                current = None
                if len(outcomes) == len(exercises):
                    stopped = False
                    break
    finally:
        _kill(proc)
        os.close(read_end)
        _remove(group)
    return outcomes, stopped


def _why_ended(late: bool, timeout: float, proc: subprocess.Popen[bytes]) -> tuple[str, str]:
    """Why an exercise stopped before its last case: the time limit, or the sandbox's end."""
    if late:
        return "timeout", f"did not return within the time limit of {timeout:g} s"
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
    return "raised", f"the sandbox ended (exit code {proc.returncode}) before returning"


def run_sandboxed(
    exercises: Sequence[Exercise], files: Sequence[tuple[str, bytes]] = (), timeout: float = 10.0,
    memory_mb: int = 2048, allow_library: bool = False,
) -> list[Outcome]:  # fmt: skip
    """Each exercise's outcome, run in a bubblewrap sandbox with the student's ``files`` (relative paths
    and contents) in its working folder: one sandbox for all of them, and a new one for those after an
    exercise that stopped it (its time limit, a malformed record, a crash)."""
    results: list[Outcome] = []
    while len(results) < len(exercises):
        rest = exercises[len(results) :]
        outcomes, stopped = _one_sandbox(rest, files, timeout, memory_mb, allow_library)
        if not outcomes:  # the sandbox did not even start the first exercise
            outcomes = [Outcome(problem="the sandbox did not start its Python (see: descentlab exercise grade "
                                        "--help)")]  # fmt: skip
        results += outcomes
        if not stopped:
            break
    return results[: len(exercises)]
