"""Checkpoints: written atomically, loaded with ``weights_only=True``, verified by a SHA-256 digest.

A checkpoint file is ``torch.save({"format", "version", "sha256", "payload"})`` where ``payload`` is
the bytes of ``torch.save(state)`` as a uint8 tensor. Loading never executes code (``weights_only``
refuses any pickled callable), and the digest catches what ``weights_only`` cannot: a flipped byte
inside tensor data, which ``torch.load`` would otherwise return silently.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from descentlab.errors import CheckpointError, first_line

FORMAT = "descentlab-checkpoint"
VERSION = 1


def _umask() -> int:
    """The process's umask, read without changing it where the system tells it (Linux), else by setting
    and restoring it."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder, fsync, then rename.

    The file gets the mode ``open()`` would give it (0666 less the umask), not the temporary file's 0600."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _to_bytes(obj: Any) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Save ``state`` (tensors, numbers, strings, lists, dicts) atomically with its digest."""
    payload = _to_bytes(state)
    wrapper = {
        "format": FORMAT,
        "version": VERSION,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "payload": torch.frombuffer(bytearray(payload), dtype=torch.uint8),
    }
    atomic_write_bytes(path, _to_bytes(wrapper))


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint`; any damage raises :class:`CheckpointError`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no checkpoint there (expected a checkpoint.pt written by a run)")
    try:
        wrapper = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise CheckpointError(
            f"{path}: not a loadable checkpoint (truncated, tampered or not a torch file): {first_line(e)}"
        ) from None
    if not isinstance(wrapper, dict) or wrapper.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a descentlab checkpoint (no '{FORMAT}' header)")
    if wrapper.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {wrapper.get('version')!r}; this descentlab reads {VERSION}")
    payload = wrapper.get("payload")
    if not isinstance(payload, torch.Tensor) or payload.dtype != torch.uint8:
        raise CheckpointError(f"{path}: checkpoint payload is missing or malformed")
    data = payload.numpy().tobytes()
    if hashlib.sha256(data).hexdigest() != wrapper.get("sha256"):
        raise CheckpointError(
            f"{path}: checkpoint digest mismatch: the file was modified or damaged after it was written"
        )
    try:
        state = torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)
    except Exception as e:
        raise CheckpointError(f"{path}: checkpoint payload does not load: {first_line(e)}") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: checkpoint payload is not a dictionary")
    return state
