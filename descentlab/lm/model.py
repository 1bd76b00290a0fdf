r"""The word-level recurrent language model: embedding, dropout, recurrent layers, dropout, decoder.

.. math:: e_t = E[w_t], \qquad h_t = \mathrm{RNN}(\mathrm{drop}(e_t), h_{t-1}), \qquad
          p(w_{t+1} \mid w_{\le t}) = \mathrm{softmax}(W_d\, \mathrm{drop}(h_t) + b_d)

as in PyTorch's ``examples/word_language_model`` and Zaremba et al. (2014). With ``tied=True`` the
decoder's weight *is* the embedding matrix (Press and Wolf 2017; Inan et al. 2017), which needs the
embedding and the last hidden layer to have the same size, saves ``vocab x size`` parameters and
usually lowers perplexity.

``impl`` chooses the recurrent layer: ours (``loop``, ``bptt``, ``fused``; see
:mod:`descentlab.rnn.layers`) or ``torch`` (``torch.nn.LSTM`` itself, the reference for throughput).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from descentlab.rnn import GRU, IMPLS, LSTM, RNN

CELLS = ("lstm", "gru", "rnn")
LM_IMPLS = (*IMPLS, "torch")


def recurrent_layer(cell: str, size: int, hidden: int, layers: int, dropout: float, impl: str) -> nn.Module:
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {cell!r}")
    if impl not in LM_IMPLS:
        raise ValueError(f"impl must be one of {', '.join(LM_IMPLS)}, got {impl!r}")
    if impl == "torch":
        cls: Any = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
        return cls(size, hidden, layers, dropout=dropout)
    ours: Any = {"lstm": LSTM, "gru": GRU, "rnn": RNN}[cell]
    return ours(size, hidden, layers, dropout=dropout, impl=impl)


class LanguageModel(nn.Module):
    """Embedding -> dropout -> recurrent layers -> dropout -> decoder, over ``(T, batch)`` word ids."""

    def __init__(
        self,
        vocab_size: int,
        emsize: int = 200,
        hidden: int = 200,
        layers: int = 2,
        dropout: float = 0.2,
        tied: bool = False,
        cell: str = "lstm",
        impl: str = "bptt",
    ) -> None:
        super().__init__()
        if tied and emsize != hidden:
            raise ValueError(f"tied embeddings need emsize == hidden; got emsize {emsize}, hidden {hidden}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout is the probability of dropping a unit, in [0, 1); got {dropout!r}")
        self.cell, self.hidden, self.layers = cell, hidden, layers
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(vocab_size, emsize)
        self.rnn = recurrent_layer(cell, emsize, hidden, layers, dropout, impl)
        self.decoder = nn.Linear(hidden, vocab_size)
        if tied:
            self.decoder.weight = self.encoder.weight
        self.tied = tied
        # as the PyTorch example: uniform(-0.1, 0.1) embedding and decoder, zero decoder bias
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        if not tied:
            nn.init.uniform_(self.decoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)

    def init_state(self, batch: int) -> Any:
        w = self.decoder.weight
        h = w.new_zeros(self.layers, batch, self.hidden)
        return (h, h.clone()) if self.cell == "lstm" else h

    def forward(self, ids: Tensor, state: Any) -> tuple[Tensor, Any]:
        """Logits ``(T, batch, vocab)`` for the next word at each position, and the final state."""
        out, state = self.rnn(self.drop(self.encoder(ids)), state)
        return self.decoder(self.drop(out)), state


def detach(state: Any) -> Any:
    """Cut the graph between chunks (truncated BPTT): the values carry on, the gradients stop here."""
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


@torch.no_grad()
def generate(
    model: LanguageModel,
    prompt: Tensor,
    words: int,
    temperature: float = 1.0,
    top_k: int = 0,
    generator: torch.Generator | None = None,
) -> list[int]:
    """Sample ``words`` ids after ``prompt`` (1-D ids): softmax of the logits divided by ``temperature``,
    restricted to the ``top_k`` most likely words when ``top_k > 0``."""
    model.eval()
    device = model.decoder.weight.device
    state = model.init_state(1)
    logits, state = model(prompt.to(device).view(-1, 1), state)
    last = logits[-1, 0]
    out: list[int] = []
    for _ in range(words):
        scaled = last.float() / temperature
        if top_k > 0:
            kth = torch.topk(scaled, min(top_k, scaled.numel())).values[-1]
            scaled = scaled.masked_fill(scaled < kth, float("-inf"))
        word = torch.multinomial(torch.softmax(scaled, -1).cpu(), 1, generator=generator)
        out.append(int(word))
        logits, state = model(word.to(device).view(1, 1), state)
        last = logits[-1, 0]
    return out


def perplexity(logits: Tensor, targets: Tensor) -> Tensor:
    r"""The perplexity of a model's predictions: the exponential of the mean negative log-likelihood,

    .. math:: \mathrm{PP} = \exp\Big(-\frac{1}{N} \sum_{i=1}^{N} \log p(w_i \mid w_{<i})\Big),

    over every position. ``logits`` (..., V) are unnormalized scores over the vocabulary (softmax gives
    :math:`p`), ``targets`` (...) the indices of the words that came. A 0-d tensor of ``logits``' dtype:
    the number of equally likely words the model hesitates between, on average (V for a uniform model).
    """
    if logits.shape[:-1] != targets.shape:
        raise ValueError(f"perplexity: targets must be shaped {tuple(logits.shape[:-1])}, got {tuple(targets.shape)}")
    if targets.numel() == 0:
        raise ValueError("perplexity: no targets (the mean of nothing is undefined)")
    log_probs = logits.log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)  # log p(w_i | w_<i)
    return (-log_probs.mean()).exp()
