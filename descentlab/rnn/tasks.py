r"""Data and models for the four recurrent topologies and the long-range adding problem.

The unit names four ways to wire a recurrent network to inputs and outputs:

* **one to one**: one input, one output, no recurrence needed (a feed-forward classifier);
* **one to many**: one input, a sequence out (an image captioned with its digit's English name, letter by
  letter: the image sets the decoder's initial state, each letter is fed back as the next input);
* **many to one**: a sequence in, one output (MNIST read row by row, 28 steps of 28 pixels, classified
  from the last hidden state);
* **many to many**: a sequence in, another out, of another length (an encoder reads digits "3 1 4", its
  final state starts a decoder that writes "three one four", letter by letter).

The adding problem (Hochreiter and Schmidhuber 1997; the form of Le et al. 2015) tests memory over long
gaps: T steps of (value ~ U(0, 1), marker), two markers set, one in each half; the target is the sum of
the two marked values. Always answering 1 (the target's mean) scores a mean squared error of
Var(u1 + u2) = 2/12 = 0.167, so a model must remember to do better.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from descentlab.rnn.layers import GRU, LSTM, RNN

DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
PAD, BOS, EOS_CHAR = 0, 1, 2  # character ids: padding, start of word, end of output
LETTERS = sorted(set("".join(DIGIT_NAMES)) | {" "})
CHAR_IDS = {c: i + 3 for i, c in enumerate(LETTERS)}
CHARS = ["<pad>", "<s>", "</s>", *LETTERS]
ADDING_BASELINE = 1 / 6  # mean squared error of always answering 1


# ---- data -------------------------------------------------------------------------------------


def adding_problem(batch: int, length: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Inputs ``(length, batch, 2)`` (value, marker) and targets ``(batch,)``; one marker in each half."""
    values = torch.rand(length, batch, generator=generator)
    half = length // 2
    first = torch.randint(0, half, (batch,), generator=generator)
    second = torch.randint(half, length, (batch,), generator=generator)
    markers = torch.zeros(length, batch)
    cols = torch.arange(batch)
    markers[first, cols] = 1.0
    markers[second, cols] = 1.0
    target = values[first, cols] + values[second, cols]
    return torch.stack([values, markers], dim=2), target


def spell(words: list[str]) -> Tensor:
    """Words -> padded character ids ``(max_len + 1, len(words))``, each ended by ``</s>``."""
    longest = max(len(w) for w in words) + 1
    out = torch.full((longest, len(words)), PAD, dtype=torch.long)
    for j, word in enumerate(words):
        ids = [CHAR_IDS[c] for c in word] + [EOS_CHAR]
        out[: len(ids), j] = torch.tensor(ids)
    return out


def unspell(ids: Tensor) -> str:
    """Character ids (1-D) -> text, stopping at ``</s>``."""
    chars = []
    for i in ids.tolist():
        if i == EOS_CHAR:
            break
        chars.append(CHARS[i] if i > EOS_CHAR else "")
    return "".join(chars)


def digit_sequences(count: int, min_len: int, max_len: int, generator: torch.Generator) -> list[list[int]]:
    lengths = torch.randint(min_len, max_len + 1, (count,), generator=generator)
    return [torch.randint(0, 10, (int(n),), generator=generator).tolist() for n in lengths]


def say(digits: list[int]) -> str:
    """[3, 1, 4] -> "three one four"."""
    return " ".join(DIGIT_NAMES[d] for d in digits)


def pad_digits(seqs: list[list[int]]) -> Tensor:
    """Digit sequences -> ids ``(max_len, batch)``, digit d as d + 1, padded with 0 at the *start*, so
    every sequence's last digit is the encoder's last step and its final state summarizes it."""
    longest = max(len(s) for s in seqs)
    out = torch.zeros(longest, len(seqs), dtype=torch.long)
    for j, s in enumerate(seqs):
        out[longest - len(s) :, j] = torch.tensor(s) + 1
    return out


# ---- models -----------------------------------------------------------------------------------


def recurrent(cell: str, size: int, hidden: int, impl: str = "bptt") -> nn.Module:
    return {"lstm": LSTM, "gru": GRU, "rnn": RNN}[cell](size, hidden, impl=impl)


class SequenceRegressor(nn.Module):
    """Many to one, for the adding problem: a recurrent layer, then a linear read-out of the last state."""

    def __init__(self, cell: str = "lstm", hidden: int = 64, inputs: int = 2, impl: str = "bptt") -> None:
        super().__init__()
        self.rnn = recurrent(cell, inputs, hidden, impl)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: Tensor) -> Tensor:
        out, _ = self.rnn(x)
        return self.head(out[-1]).squeeze(-1)


class RowClassifier(nn.Module):
    """Many to one: an image read row by row (28 steps of 28 pixels), classified from the last state."""

    def __init__(self, cell: str = "lstm", hidden: int = 128, impl: str = "bptt") -> None:
        super().__init__()
        self.rnn = recurrent(cell, 28, hidden, impl)
        self.head = nn.Linear(hidden, 10)

    def forward(self, images: Tensor) -> Tensor:
        rows = images.reshape(-1, 28, 28).transpose(0, 1)  # (28 steps, batch, 28 pixels)
        out, _ = self.rnn(rows)
        return self.head(out[-1])


class FeedForward(nn.Module):
    """One to one: the feed-forward baseline, 784 -> hidden -> 10."""

    def __init__(self, hidden: int = 128) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10))

    def forward(self, images: Tensor) -> Tensor:
        return self.net(images)


class CharDecoder(nn.Module):
    """An LSTM that writes characters from an initial state (h0, c0), trained with teacher forcing."""

    def __init__(self, hidden: int, impl: str = "bptt") -> None:
        super().__init__()
        self.embed = nn.Embedding(len(CHARS), 32)
        self.rnn = LSTM(32, hidden, impl=impl)
        self.out = nn.Linear(hidden, len(CHARS))

    def loss(self, state: tuple[Tensor, Tensor], target: Tensor) -> Tensor:
        """Cross-entropy of each target character given the ones before it (padding ignored)."""
        inputs = torch.cat([torch.full_like(target[:1], BOS), target[:-1]])
        out, _ = self.rnn(self.embed(inputs), state)
        return F.cross_entropy(self.out(out).flatten(0, 1), target.flatten(), ignore_index=PAD)

    @torch.no_grad()
    def greedy(self, state: tuple[Tensor, Tensor], max_len: int) -> Tensor:
        """The most likely character at each step, fed back in: ``(max_len, batch)``."""
        token = torch.full((1, state[0].shape[1]), BOS, dtype=torch.long, device=state[0].device)
        out = []
        for _ in range(max_len):
            h, state = self.rnn(self.embed(token), state)
            token = self.out(h).argmax(-1)
            out.append(token[0])
        return torch.stack(out)


class Captioner(nn.Module):
    """One to many: an image encoder sets the character decoder's initial state; it spells the digit."""

    def __init__(self, hidden: int = 128, impl: str = "bptt") -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 2 * hidden))
        self.decoder = CharDecoder(hidden, impl)

    def state(self, images: Tensor) -> tuple[Tensor, Tensor]:
        h, c = torch.tanh(self.encoder(images)).unsqueeze(0).chunk(2, dim=-1)
        return h.contiguous(), c.contiguous()


class Translator(nn.Module):
    """Many to many: an LSTM encoder reads digit ids; its final state starts the character decoder."""

    def __init__(self, hidden: int = 128, impl: str = "bptt") -> None:
        super().__init__()
        self.embed = nn.Embedding(11, 32)
        self.encoder = LSTM(32, hidden, impl=impl)
        self.decoder = CharDecoder(hidden, impl)

    def state(self, digits: Tensor) -> tuple[Tensor, Tensor]:
        _, (h, c) = self.encoder(self.embed(digits))
        return h, c
