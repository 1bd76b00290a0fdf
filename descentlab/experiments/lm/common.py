"""What the lm group's commands share: a run's config, its corpus and model, evaluation, and the saved model
(``model.pt`` with the vocabulary) that ``lm train`` writes and ``lm eval`` and ``lm generate`` read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from descentlab.config import RunConfig, param
from descentlab.errors import CheckpointError, ParameterError, UserError, shown
from descentlab.experiments.declaration import checkpoint_every_param
from descentlab.lm.corpus import Corpus, Vocabulary, chunks, load_corpus
from descentlab.lm.model import CELLS, LM_IMPLS, LanguageModel
from descentlab.optim.by_name import OPTIMIZERS
from descentlab.runs import load_checkpoint, load_run, save_checkpoint

LM_OPTIMIZERS = OPTIMIZERS


@dataclass(frozen=True)
class LMConfig(RunConfig):
    """Settings of ``descentlab lm train``."""

    corpus: str = param("", "text file or folder with train/valid/test.txt (default: Penn Treebank)")
    min_freq: int = param(1, "vocabulary: words seen fewer times become <unk>", low=1, high=10**9)
    max_vocab: int = param(0, "vocabulary: at most this many words (0: no limit)", low=0, high=10**7)
    cell: str = param("lstm", "recurrent cell", choices=CELLS)
    impl: str = param("bptt", "recurrent layer: ours (loop, bptt, fused) or torch's", choices=LM_IMPLS)
    emsize: int = param(200, "word embedding size", low=1, high=8192)
    hidden: int = param(200, "hidden units per layer", low=1, high=8192)
    layers: int = param(2, "recurrent layers", low=1, high=16)
    dropout: float = param(0.2, "dropout probability (embeddings, between layers, before the decoder)",
                           low=0.0, high=1.0, high_open=True)  # fmt: skip
    tied: bool = param(False, "tie the decoder's weights to the embedding (needs emsize == hidden)")
    optimizer: str = param("sgd", "optimizer from descentlab.optim", choices=LM_OPTIMIZERS)
    lr: float = param(20.0, "initial learning rate", low=0.0, low_open=True, high=1000.0)
    momentum: float = param(0.9, "momentum coefficient, for --optimizer momentum", low=0.0, high=1.0, high_open=True)
    anneal: float = param(4.0, "divide the learning rate by this when validation does not improve (1: never)",
                          low=1.0, high=1e6)  # fmt: skip
    decay: float = param(1.0, "multiply the learning rate by this after each epoch from --decay-after on (1: never)",
                         low=0.0, low_open=True, high=1.0)  # fmt: skip
    decay_after: int = param(
        0, "the first epoch after which --decay applies (Zaremba et al. 2014: 4 to 14)", low=0, high=10_000
    )
    clip: float = param(0.25, "clip the gradients' global norm to this (0: no clipping)", low=0.0, high=1e6)
    epochs: int = param(6, "passes over the training text", low=1, high=10_000)
    batch_size: int = param(20, "parallel streams in training", low=1, high=10_000)
    bptt: int = param(35, "truncated BPTT: time steps per chunk", low=1, high=10_000)
    eval_batch_size: int = param(10, "parallel streams in evaluation", low=1, high=10_000)
    train_tokens: int = param(0, "use only the first this many training tokens (0: all)", low=0, high=10**10)
    max_seconds: float = param(
        0.0, "training-time budget in seconds (0: none); ends the epoch early", low=0.0, high=1e7
    )
    log_every: int = param(200, "chunks between training-loss records", low=1, high=10**9)
    checkpoint_every: int = checkpoint_every_param()

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.tied and self.emsize != self.hidden:
            raise ParameterError(
                "tied", f"tying needs emsize == hidden; got emsize {self.emsize}, hidden {self.hidden}"
            )

    @property
    def run_name(self) -> str:
        return f"{self.cell}-{self.layers}x{self.hidden}" + ("-tied" if self.tied else "")


# ---- data and model ---------------------------------------------------------------------------


def load(cfg: LMConfig) -> Corpus:
    return load_corpus(cfg.corpus or None, cfg.min_freq, cfg.max_vocab or None)


def build_model(cfg: LMConfig, vocab_size: int) -> LanguageModel:
    return LanguageModel(vocab_size, cfg.emsize, cfg.hidden, cfg.layers, cfg.dropout, cfg.tied, cfg.cell, cfg.impl)


# ---- evaluation -------------------------------------------------------------------------------


@torch.no_grad()
def evaluate(model: LanguageModel, data: torch.Tensor, bptt: int) -> float:
    """Mean cross-entropy per word over a batchified split, the state carried across chunks."""
    model.eval()
    state = model.init_state(data.shape[1])
    total, count = 0.0, 0
    for _, x, y in chunks(data, bptt):
        logits, state = model(x, state)
        total += F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="sum").item()
        count += y.numel()
    return total / count


def perplexity(loss: float) -> float:
    return math.exp(min(loss, 700.0))


# ---- the saved model --------------------------------------------------------------------------


def save_model(folder: Path, model: LanguageModel, vocab: Vocabulary) -> None:
    save_checkpoint(folder / "model.pt", {"model": model.state_dict(), "vocab": vocab.itos})


def load_model(run_dir: str | Path, device: torch.device | str = "cpu") -> tuple[LanguageModel, Vocabulary, LMConfig]:
    """The best model of a ``descentlab lm train`` run, its vocabulary and its config."""
    folder = Path(run_dir)
    if not folder.is_dir():
        raise UserError(f"{shown(folder)}: no such run folder")
    record = load_run(folder)
    if record.experiment != "lm-train":  # the name of LM_TRAIN (lm/train.py)
        raise UserError(f"{folder}: a {record.experiment} run, not a language model (lm-train)")
    if not (folder / "model.pt").is_file():
        raise UserError(f"{folder}: no model.pt yet (it is written after the first epoch)")
    cfg = LMConfig(**{k: v for k, v in record.config.items()})
    saved = load_checkpoint(folder / "model.pt", map_location=device)
    vocab = Vocabulary(list(saved["vocab"]))
    model = build_model(cfg, len(vocab)).to(device)
    try:
        model.load_state_dict(saved["model"])
    except (RuntimeError, KeyError) as e:
        raise CheckpointError(
            f"{folder / 'model.pt'}: weights do not fit the run's config: {str(e).splitlines()[0]}"
        ) from None
    return model.eval(), vocab, cfg
