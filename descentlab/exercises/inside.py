"""The submission's side of a check: run its functions on the cases and send back only their outputs.

This file imports the standard library and torch, nothing of descentlab: the grader runs it by its path
inside the sandbox (``python -I inside.py``, see :mod:`descentlab.exercises.jail`), where the library, its
references and its known mistakes cannot be imported, so a submission can neither call the reference nor
read how it is judged. The unsandboxed runner (:mod:`descentlab.exercises.sandbox`) calls the same
:func:`run_exercise` in a forked process.

The grader sends one payload (``torch.save``: the exercises' code blocks, function names, parameters, cases
and the limits) on standard input; the records come back as frames on the file descriptor named by the command line's argument, each an 8-byte
length and a ``torch.save`` of a dict of plain values (read with ``weights_only=True``): ``start`` (the
exercise's index), ``loaded``, ``case`` (an index and the output, or an error), ``problem`` (why no case
ran), ``done``. The submission's own output (``print``, file descriptors 1 and 2) goes to ``/dev/null``.
A submission can write frames of its own, but every frame is only a claim about what its own function
returned: the grader computes the references and compares, so a forged frame earns nothing its function
would not have earned.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib.abc
import inspect
import io
import os
import struct
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

FRAME = struct.Struct("<Q")  # the length of the torch.save bytes that follow
MEMORY_ERRORS = ("can't allocate memory", "not enough memory", "bad_alloc", "out of memory")
LIBRARY = "descentlab"


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


def encode(record: dict[str, Any]) -> bytes:
    """A record as ``torch.save`` writes it."""
    buffer = io.BytesIO()
    torch.save(record, buffer)
    return buffer.getvalue()


def frame(record: dict[str, Any]) -> bytes:
    """A record with its length before it, as it goes through the sandbox's pipe."""
    data = encode(record)
    return FRAME.pack(len(data)) + data


def write_frame(fd: int, record: dict[str, Any]) -> None:
    data = frame(record)
    while data:
        data = data[os.write(fd, data) :]


def _where(e: BaseException, files: set[str]) -> str:
    """``(line 7)``: the last line of the submission's own code in the error's traceback."""
    tb, line = e.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in files:
            line = (tb.tb_frame.f_code.co_filename, tb.tb_lineno)
        tb = tb.tb_next
    return f" ({line[0]}, line {line[1]})" if line else ""


def error(e: BaseException, files: set[str]) -> tuple[str, str]:
    """``(status, message)`` of an exception the submission raised: ``memory``, ``library`` or ``raised``."""
    text = str(e).strip().splitlines()[0][:300] if str(e).strip() else ""
    if isinstance(e, MemoryError) or (isinstance(e, RuntimeError) and any(m in str(e) for m in MEMORY_ERRORS)):
        return "memory", f"exceeded the memory limit ({type(e).__name__}){_where(e, files)}"
    if isinstance(e, ImportError) and (e.name or "").split(".")[0] == LIBRARY:
        return "library", f"it imports {LIBRARY}, which a graded submission may not use{_where(e, files)}"
    return (
        "raised",
        f"{type(e).__name__}: {text}{_where(e, files)}" if text else f"{type(e).__name__}{_where(e, files)}",
    )


class NoLibrary(importlib.abc.MetaPathFinder):
    """Refuses ``import descentlab`` (whose files the sandbox does not hold anyway)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.split(".")[0] == LIBRARY:
            raise ModuleNotFoundError(f"No module named {name!r} in the grading sandbox", name=name)
        return None


def run_exercise(send: Callable[[dict[str, Any]], None], ex: dict[str, Any]) -> None:
    """Load the exercise's code blocks, find its function, call it on every case; ``send`` each record."""
    files = {filename for filename, _ in ex["blocks"]}
    namespace: dict[str, Any] = {"__name__": "submission", "__builtins__": builtins}
    name = ex["function"]
    try:
        for filename, source in ex["blocks"]:
            namespace["__file__"] = filename
            exec(compile(source, filename, "exec"), namespace)
    except BaseException as e:
        status, message = error(e, files)
        verb = {"memory": "ran out of memory", "library": "failed"}.get(status, "raised")
        send({"kind": "problem", "message": f"loading the code {verb}: {message}", "status": status})
        return
    fn = namespace.get(name)
    if not callable(fn):
        send({"kind": "problem", "message": f"it defines no function {name}", "status": "raised"})
        return
    cases = ex["cases"]
    try:
        sig = inspect.signature(fn)
        if cases:
            sig.bind(*cases[0])
    except TypeError:
        expected = f"{name}({', '.join(ex['parameters'])})"
        message = f"wrong signature: {name}{sig} cannot be called as {expected}"
        send({"kind": "problem", "message": message, "status": "raised"})
        return
    except ValueError:
        pass  # a builtin without a signature: let the calls tell
    send({"kind": "loaded"})
    for i, args in enumerate(cases):
        try:
            result = fn(*args)
            send({"kind": "case", "index": i, "output": plain(result)})
        except BaseException as e:
            send({"kind": "case", "index": i, "error": error(e, files)})
    send({"kind": "done"})


def _virtual_memory() -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def limit(memory_mb: int, cpu_seconds: int, file_mb: int = 64, processes: int = 0) -> None:
    """This process's limits: its address space (what it uses now plus ``memory_mb``), CPU seconds, the size
    of a file it writes and, where ``processes``, how many processes its user may have."""
    import resource

    used = _virtual_memory()
    if used:
        resource.setrlimit(resource.RLIMIT_AS, (used + memory_mb * 2**20, used + memory_mb * 2**20))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_mb * 2**20, file_mb * 2**20))
    if processes:
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))


def quiet() -> None:
    """The submission's output to /dev/null: ``print`` and anything written to file descriptors 1 and 2."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process


def main() -> None:
    """In the sandbox: the payload from standard input, every exercise in turn, frames on the file descriptor
    ``sys.argv[1]``."""
    payload = torch.load(io.BytesIO(sys.stdin.buffer.read()), weights_only=True)
    os.close(0)
    quiet()
    torch.set_num_threads(1)
    if not payload["allow_library"]:
        sys.meta_path.insert(0, NoLibrary())
    for name, data in payload["files"]:  # the student's own files, into the sandbox's empty working folder
        target = Path(name)
        if target.is_absolute() or ".." in target.parts:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    sys.path.insert(0, os.getcwd())
    limit(payload["memory_mb"], payload["cpu_seconds"], processes=payload["processes"])

    out = int(sys.argv[1])

    def send(record: dict[str, Any]) -> None:
        write_frame(out, record)

    for i, ex in enumerate(payload["exercises"]):
        send({"kind": "start", "exercise": i})
        run_exercise(send, ex)


if __name__ == "__main__":
    main()
