"""Run a submitted function on the cases in a process of its own, with a time and a memory limit.

:func:`run` starts the process from a fork server that has imported torch once (``multiprocessing``'s
``forkserver``, with this module preloaded), so each submission's process starts in milliseconds instead
of the second or two a new Python needs to import torch: a class of 30 is graded exercise by exercise, each
in its own process, at little cost. The process sends one record per event back through a pipe: the code
loaded (or why not), then each case's output or error, as they come. It

* limits its address space to what it uses when it starts plus ``memory_mb`` (``RLIMIT_AS``: an allocation
  beyond it fails inside the submission, and is reported as the memory limit), its CPU time, and the size of
  the files it writes;
* sends the submission's own output (``print``, or anything written to file descriptors 1 and 2) to
  ``/dev/null``, so a submission that prints megabytes costs only time;
* runs in a temporary folder and a session of its own, which is killed as a whole at the time limit (the
  time the submission's code takes, from loading it to its last case).

A case that finished before the time limit keeps its result; the one running is reported as not returning
in time, and the others as not run.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import torch
from torch import Tensor

from descentlab.exercises import inside

MAX_RECORD = 256 * 2**20  # bytes of one record (a case's output)
MAX_DEPTH = 4  # of nested tuples in an output
MAX_ITEMS = 256  # in one tuple
MAX_TEXT = 1000  # characters of a string in a record
DTYPES = {torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.complex64, torch.complex128,
          torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8, torch.bool}  # fmt: skip
STATUSES = ("raised", "memory", "library")


def child(out: Any, data: bytes, work: str) -> None:
    """The process's side: run the submission on every case (:func:`inside.run_exercise`), send what
    happened through ``out``."""
    os.setsid()  # a session of its own: the parent kills it, and anything it starts, as a whole
    os.chdir(work)
    payload = torch.load(io.BytesIO(data), weights_only=True)
    inside.quiet()
    torch.set_num_threads(1)
    if payload["folder"]:
        sys.path.insert(0, payload["folder"])
    inside.limit(payload["memory_mb"], payload["cpu_seconds"])

    def send(record: dict[str, Any]) -> None:
        out.send_bytes(inside.encode(record))

    inside.run_exercise(send, payload)


# ---- what may come back ---------------------------------------------------------------------------------


class Malformed(ValueError):
    """A record from a sandbox that is not what the protocol allows."""


def valid_output(value: Any, depth: int = 0) -> None:
    """Raise :class:`Malformed` unless ``value`` is what :func:`inside.plain` makes of a return value: a dense
    tensor of a numeric dtype, a bool, an int that fits 64 bits, a float, a short string, or a tuple of these
    (at most ``MAX_ITEMS``, nested ``MAX_DEPTH`` deep)."""
    if isinstance(value, Tensor):
        if value.layout != torch.strided or value.dtype not in DTYPES or value.is_quantized:
            raise Malformed(f"a tensor of layout {value.layout} and dtype {value.dtype}")
        return
    if isinstance(value, bool | float):
        return
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise Malformed("an integer beyond 64 bits")
        return
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise Malformed(f"a string of {len(value):,} characters")
        return
    if isinstance(value, tuple):
        if depth >= MAX_DEPTH:
            raise Malformed(f"tuples nested more than {MAX_DEPTH} deep")
        if len(value) > MAX_ITEMS:
            raise Malformed(f"a tuple of {len(value):,} items")
        for v in value:
            valid_output(v, depth + 1)
        return
    raise Malformed(f"a value of type {type(value).__name__}")


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise Malformed(f"{what} is not a string of at most {MAX_TEXT} characters")
    return value


def read_record(data: bytes, cases: int) -> dict[str, Any]:
    """One frame's record, checked against the protocol (:mod:`inside`); :class:`Malformed` otherwise."""
    try:
        record = torch.load(io.BytesIO(data), weights_only=True)
    except Exception as e:
        raise Malformed(f"a record that does not load ({type(e).__name__})") from None
    if not isinstance(record, dict) or not all(isinstance(k, str) for k in record):
        raise Malformed("a record that is not a dict of names")
    kind = record.get("kind")
    allowed = {"start": {"exercise"}, "loaded": set(), "done": set(), "problem": {"message", "status"},
               "case": {"index", "output", "error"}}  # fmt: skip
    if kind not in allowed or not set(record) - {"kind"} <= allowed[kind]:
        raise Malformed(f"a record of kind {str(kind)[:40]!r} with keys {sorted(record)[:8]}")
    if kind == "start" and type(record.get("exercise")) is not int:
        raise Malformed("a start record without an exercise number")
    if kind == "problem":
        _text(record.get("message"), "a problem's message")
    if kind == "case":
        index = record.get("index")
        if type(index) is not int or not 0 <= index < cases:
            raise Malformed(f"a case index out of range 0..{cases - 1}")
        if ("output" in record) == ("error" in record):
            raise Malformed("a case with both or neither of an output and an error")
        if "error" in record:
            err = record["error"]
            if not isinstance(err, tuple) or len(err) != 2 or err[0] not in STATUSES:
                raise Malformed("a case error that is not (status, message)")
            _text(err[1], "a case error's message")
        else:
            valid_output(record["output"])
    return record


# ---- the parent -----------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What came back from a submission's process."""

    problem: str = ""  # why no case ran (loading failed, no such function, wrong signature, killed, ...)
    outputs: list[Any] = field(default_factory=list)  # per case: the output, or None
    errors: list[tuple[str, str] | None] = field(default_factory=list)  # per case: (status, message) or None
    seconds: float = 0.0


@cache
def _context() -> Any:
    """The fork server's context, with torch and this module imported once in the server."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    return ctx


def run(
    blocks: Sequence[tuple[str, str]],
    function: str,
    parameters: Sequence[str],
    cases: Sequence[Sequence[Any]],
    folder: str = "",
    timeout: float = 30.0,
    memory_mb: int = 2048,
) -> Outcome:
    """Run ``function`` of the code ``blocks`` on every case in a new process, within ``timeout`` seconds
    (wall clock, for everything) and ``memory_mb`` MiB beyond what the process needs to start."""
    buffer = io.BytesIO()
    payload = {"blocks": [tuple(b) for b in blocks], "function": function, "parameters": list(parameters),
               "cases": [tuple(c) for c in cases], "folder": folder, "memory_mb": int(memory_mb),
               "cpu_seconds": int(timeout) + 5}  # fmt: skip
    torch.save(payload, buffer)
    ctx = _context()
    records: list[dict[str, Any]] = []
    killed = False
    with tempfile.TemporaryDirectory(prefix="descentlab-exercise-") as work:
        receive, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=child, args=(send, buffer.getvalue(), work), daemon=True)
        started = time.perf_counter()
        proc.start()
        send.close()
        deadline = started + timeout
        try:
            while True:
                left = deadline - time.perf_counter()
                if left <= 0:
                    killed = True
                    break
                if not receive.poll(min(left, 0.25)):
                    continue
                try:
                    data = receive.recv_bytes(MAX_RECORD)
                    records.append(read_record(data, len(cases)))
                except EOFError:  # it ended
                    break
                except OSError:  # an output over MAX_RECORD
                    records.append({"kind": "problem", "message": f"an output over {MAX_RECORD // 2**20} MiB"})
                    break
                except Malformed as e:  # a record garbled by the submission
                    records.append({"kind": "problem", "message": f"malformed result: {e}"})
                    break
                if records[-1].get("kind") in ("done", "problem"):
                    break
        finally:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # it, and anything it started
            proc.kill()  # in case it was stopped before it made its session
            proc.join()
            receive.close()
    outcome = new_outcome(len(cases))
    outcome.seconds = time.perf_counter() - started
    for r in records:
        record_onto(outcome, r)
    if outcome.problem or "done" in [r.get("kind") for r in records]:
        return outcome
    if killed:
        why = ("timeout", f"did not return within the time limit of {timeout:g} s")
    elif proc.exitcode and proc.exitcode < 0:
        name = signal.Signals(-proc.exitcode).name
        why = (
            "memory" if -proc.exitcode == signal.SIGKILL else "raised",
            f"the process was killed by {name}" + (" (out of memory?)" if name == "SIGKILL" else ""),
        )
    else:
        why = ("raised", f"the process ended (exit code {proc.exitcode}) before returning")
    unfinished(outcome, records, killed, timeout, why)
    return outcome


def new_outcome(cases: int) -> Outcome:
    """An exercise's outcome before any record: every case not run."""
    return Outcome(outputs=[None] * cases, errors=[("not run", "not run: an earlier case did not return")] * cases)


def record_onto(outcome: Outcome, record: dict[str, Any]) -> None:
    """A ``case`` or ``problem`` record (checked by :func:`read_record`) written onto ``outcome``."""
    if record.get("kind") == "problem":
        library = record.get("status") == "library"
        outcome.problem = ("uses the library: " if library else "") + str(record.get("message", "failed"))
    elif record.get("kind") == "case":
        i = int(record["index"])
        if "error" in record:
            outcome.errors[i] = tuple(record["error"])
        else:
            outcome.outputs[i], outcome.errors[i] = record.get("output"), None


def unfinished(outcome: Outcome, records: Sequence[dict[str, Any]], late: bool, timeout: float,
               why: tuple[str, str]) -> None:  # fmt: skip
    """An exercise that stopped before its ``done``: at its time limit (``late``) or for ``why``. Loading its
    code had not finished, or the first case without a record gets ``why``."""
    kinds = [r.get("kind") for r in records]
    finished = sum(k == "case" for k in kinds)
    if "loaded" not in kinds:
        outcome.problem = (
            f"loading the code did not finish within the time limit of {timeout:g} s" if late
            else f"loading the code failed: {why[1]}"
        )  # fmt: skip
    elif finished < len(outcome.errors):
        outcome.errors[finished] = why
