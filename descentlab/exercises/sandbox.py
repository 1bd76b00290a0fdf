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
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

MEMORY_ERRORS = ("can't allocate memory", "not enough memory", "bad_alloc", "out of memory")
MAX_RECORD = 256 * 2**20  # bytes of one case's output


def plain(value: Any) -> Any:
    """A returned value as tensors, numbers, tuples and strings only (what crosses the process boundary
    safely, and what ``torch.load(weights_only=True)`` reads): numpy arrays and scalars become tensors and
    numbers, lists tuples, anything else the string ``<TYPE>``."""
    if isinstance(value, Tensor):
        return value.detach().cpu().clone()
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, tuple | list):
        return tuple(plain(v) for v in value)
    if type(value).__module__ == "numpy":
        if getattr(value, "shape", ()) != ():
            try:
                return torch.from_numpy(value.copy())
            except TypeError:
                return f"<numpy array of {value.dtype}>"
        return value.item() if hasattr(value, "item") else f"<{type(value).__name__}>"
    return f"<{type(value).__name__}>"


# ---- the child -------------------------------------------------------------------------------------------


def _send(conn: Any, record: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save(record, buffer)
    conn.send_bytes(buffer.getvalue())


def _where(e: BaseException, files: set[str]) -> str:
    """``(line 7)``: the last line of the submission's own code in the error's traceback."""
    tb, line = e.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in files:
            line = (tb.tb_frame.f_code.co_filename, tb.tb_lineno)
        tb = tb.tb_next
    return f" ({line[0]}, line {line[1]})" if line else ""


def _error(e: BaseException, files: set[str]) -> tuple[str, str]:
    text = str(e).strip().splitlines()[0][:300] if str(e).strip() else ""
    if isinstance(e, MemoryError) or (isinstance(e, RuntimeError) and any(m in str(e) for m in MEMORY_ERRORS)):
        return "memory", f"exceeded the memory limit ({type(e).__name__}){_where(e, files)}"
    return (
        "raised",
        f"{type(e).__name__}: {text}{_where(e, files)}" if text else f"{type(e).__name__}{_where(e, files)}",
    )


def _virtual_memory() -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _limit(memory_mb: int, cpu_seconds: int) -> None:
    import resource

    used = _virtual_memory()
    if used:
        limit = used + memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 2**20, 64 * 2**20))


def child(out: Any, data: bytes, work: str) -> None:
    """The sandbox's side: run the submission on every case, send what happened through ``out``."""
    import builtins
    import inspect

    os.setsid()  # a session of its own: the parent kills it, and anything it starts, as a whole
    os.chdir(work)
    payload = torch.load(io.BytesIO(data), weights_only=True)
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    torch.set_num_threads(1)
    if payload["folder"]:
        sys.path.insert(0, payload["folder"])
    _limit(payload["memory_mb"], payload["cpu_seconds"])
    files = {filename for filename, _ in payload["blocks"]}
    namespace: dict[str, Any] = {"__name__": "submission", "__builtins__": builtins}
    name = payload["function"]
    try:
        for filename, source in payload["blocks"]:
            namespace["__file__"] = filename
            exec(compile(source, filename, "exec"), namespace)
    except BaseException as e:
        status, message = _error(e, files)
        verb = "ran out of memory" if status == "memory" else "raised"
        _send(out, {"kind": "problem", "message": f"loading the code {verb}: {message}"})
        return
    fn = namespace.get(name)
    if not callable(fn):
        _send(out, {"kind": "problem", "message": f"it defines no function {name}"})
        return
    cases = payload["cases"]
    try:
        sig = inspect.signature(fn)
        if cases:
            sig.bind(*cases[0])
    except TypeError:
        expected = f"{name}({', '.join(payload['parameters'])})"
        _send(out, {"kind": "problem", "message": f"wrong signature: {name}{sig} cannot be called as {expected}"})
        return
    except ValueError:
        pass  # a builtin without a signature: let the calls tell
    _send(out, {"kind": "loaded"})
    for i, args in enumerate(cases):
        try:
            result = fn(*args)
            _send(out, {"kind": "case", "index": i, "output": plain(result)})
        except BaseException as e:
            status, message = _error(e, files)
            _send(out, {"kind": "case", "index": i, "error": (status, message)})
    _send(out, {"kind": "done"})


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
                    records.append(torch.load(io.BytesIO(data), weights_only=True))
                except EOFError:  # it ended
                    break
                except OSError:  # an output over MAX_RECORD
                    records.append({"kind": "problem", "message": f"an output over {MAX_RECORD // 2**20} MiB"})
                    break
                except Exception:  # a record garbled by the submission
                    break
                if records[-1].get("kind") in ("done", "problem"):
                    break
        finally:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # it, and anything it started
            proc.kill()  # in case it was stopped before it made its session
            proc.join()
            receive.close()
    seconds = time.perf_counter() - started
    outcome = Outcome(
        outputs=[None] * len(cases),
        errors=[("not run", "not run: an earlier case did not return")] * len(cases),
        seconds=seconds,
    )
    kinds = [r.get("kind") for r in records]
    for r in records:
        if r.get("kind") == "problem":
            outcome.problem = str(r.get("message", "failed"))
        elif r.get("kind") == "case":
            i = int(r["index"])
            if "error" in r:
                outcome.errors[i] = tuple(r["error"])
            else:
                outcome.outputs[i], outcome.errors[i] = r.get("output"), None
    if outcome.problem:
        return outcome
    if "done" not in kinds:
        finished = sum(k == "case" for k in kinds)
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
        if "loaded" not in kinds:
            outcome.problem = (
                f"loading the code did not finish within the time limit of {timeout:g} s"
                if killed
                else f"loading the code failed: {why[1]}"
            )
        elif finished < len(cases):
            outcome.errors[finished] = why
    return outcome
