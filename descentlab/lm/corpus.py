r"""Corpus, vocabulary and batching for word-level language modelling.

A language model assigns a probability to each next word given the words before it,
:math:`p(w_1..w_n) = \prod_t p(w_t \mid w_{<t})`, and is scored by *perplexity*, the exponential of the
mean negative log-likelihood per word: the number of equally likely words it is, on average, choosing
between (10,000 for a uniform guess over Penn Treebank's vocabulary).

Batching follows PyTorch's ``examples/word_language_model`` (and Zaremba et al. 2014): the token stream
is cut into ``batch_size`` equal parallel streams, the columns of a ``(T, batch_size)`` tensor; training
walks down the rows in chunks of ``bptt`` steps, the model's hidden state carried from each chunk to
the next and detached between them (truncated backpropagation through time).
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from descentlab.data.text import EOS, ptb_tokens, text_tokens
from descentlab.errors import DataError, ParameterError

UNK = "<unk>"
SPLITS = ("train", "valid", "test")


class Vocabulary:
    """Words <-> ids. Built from training tokens: words seen at least ``min_freq`` times, the
    ``max_size`` most frequent of them (ties in order of first appearance), plus ``<unk>`` and ``<eos>``;
    every other word maps to ``<unk>``."""

    def __init__(self, words: list[str]) -> None:
        if len(set(words)) != len(words) or UNK not in words or EOS not in words:
            raise DataError("a vocabulary lists distinct words, <unk> and <eos> among them")
        self.itos = list(words)
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    @classmethod
    def build(cls, tokens: list[str], min_freq: int = 1, max_size: int | None = None) -> Vocabulary:
        counts = Counter(tokens)  # its words in order of first appearance, which the stable sort keeps for ties
        kept = sorted((w for w, c in counts.items() if c >= min_freq and w not in (UNK, EOS)), key=lambda w: -counts[w])
        if max_size is not None:
            kept = kept[: max(0, max_size - 2)]
        return cls([EOS, UNK, *kept])

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: list[str]) -> Tensor:
        unk = self.stoi[UNK]
        return torch.tensor([self.stoi.get(w, unk) for w in tokens], dtype=torch.long)

    def decode(self, ids: Tensor | list[int]) -> list[str]:
        return [self.itos[int(i)] for i in ids]

    def to_json(self) -> str:
        return json.dumps(self.itos)

    @classmethod
    def from_json(cls, text: str) -> Vocabulary:
        words = json.loads(text)
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise DataError("vocabulary file is not a JSON list of words")
        return cls(words)


@dataclass
class Corpus:
    vocab: Vocabulary
    train: Tensor
    valid: Tensor
    test: Tensor
    source: str

    def split(self, name: str) -> Tensor:
        return {"train": self.train, "valid": self.valid, "test": self.test}[name]


def corpus_tokens(path: str | Path | None = None) -> tuple[dict[str, list[str]], str]:
    """Tokens of each split, and where they came from.

    ``None``: Penn Treebank. A folder: its ``train.txt``, ``valid.txt`` and ``test.txt`` (the layout of
    PyTorch's example). A file: its lines split in order, the first 90% for training and 5% each for
    validation and test (at least one line each).
    """
    if path is None:
        return {s: ptb_tokens(s) for s in SPLITS}, "Penn Treebank"
    p = Path(path)
    if p.is_dir():
        missing = [f"{s}.txt" for s in SPLITS if not (p / f"{s}.txt").is_file()]
        if missing:
            raise DataError(
                f"{p}: a corpus folder holds train.txt, valid.txt and test.txt; missing {', '.join(missing)}"
            )
        return {s: text_tokens(p / f"{s}.txt") for s in SPLITS}, str(p)
    tokens = text_tokens(p)
    lines: list[list[str]] = [[]]
    for w in tokens:
        lines[-1].append(w)
        if w == EOS:
            lines.append([])
    lines = [line for line in lines if line]
    if len(lines) < 3:
        raise DataError(f"{p}: a corpus file needs at least 3 lines (train, validation, test); it has {len(lines)}")
    n_test = n_valid = max(1, len(lines) // 20)
    n_train = len(lines) - n_valid - n_test
    parts = {"train": lines[:n_train], "valid": lines[n_train : n_train + n_valid], "test": lines[n_train + n_valid :]}
    return {s: [w for line in part for w in line] for s, part in parts.items()}, str(p)


def load_corpus(path: str | Path | None = None, min_freq: int = 1, max_size: int | None = None) -> Corpus:
    """Tokens of :func:`corpus_tokens`, the vocabulary built from the training split, ids of each split."""
    if min_freq < 1:
        raise ParameterError("min_freq", f"{min_freq} is out of range; valid: an integer >= 1")
    if max_size is not None and max_size < 3:
        raise ParameterError(
            "max_size", f"{max_size} is out of range; valid: an integer >= 3 (<unk>, <eos> and a word)"
        )
    if path is None:  # the packaged Penn Treebank cannot change: built once a process, copied for each caller
        ptb = _penn_treebank(min_freq, max_size)
        return Corpus(Vocabulary(ptb.vocab.itos), ptb.train.clone(), ptb.valid.clone(), ptb.test.clone(), ptb.source)
    return _build(*corpus_tokens(path), min_freq, max_size)


def _build(tokens: dict[str, list[str]], source: str, min_freq: int, max_size: int | None) -> Corpus:
    vocab = Vocabulary.build(tokens["train"], min_freq, max_size)
    train, valid, test = (vocab.encode(tokens[s]) for s in SPLITS)
    return Corpus(vocab, train, valid, test, source)


@functools.lru_cache(maxsize=4)
def _penn_treebank(min_freq: int, max_size: int | None) -> Corpus:
    return _build(*corpus_tokens(None), min_freq, max_size)


def batchify(ids: Tensor, batch_size: int) -> Tensor:
    """Cut a token stream into ``batch_size`` parallel streams: ``(len(ids) // batch_size, batch_size)``,
    column j holding the j-th contiguous piece (the remainder at the end is dropped)."""
    rows = len(ids) // batch_size
    if rows < 2:
        raise DataError(f"{len(ids)} tokens are too few for {batch_size} streams of at least 2 tokens")
    return ids[: rows * batch_size].view(batch_size, rows).t().contiguous()


def chunks(data: Tensor, bptt: int, start: int = 0) -> Iterator[tuple[int, Tensor, Tensor]]:
    """``(row, inputs, targets)`` for consecutive chunks of ``bptt`` rows from ``start``: the targets are
    the inputs shifted one word on; the last chunk may be shorter."""
    for i in range(start, len(data) - 1, bptt):
        n = min(bptt, len(data) - 1 - i)
        yield i, data[i : i + n], data[i + 1 : i + 1 + n]
