"""The library refuses bad arguments as torch does: at construction, with a ValueError (or TypeError)
that names the argument, its value and what is valid; never later, as NaN, ascent or a raw kernel error."""

from __future__ import annotations

import math

import pytest
import torch

from descentlab.generalize import Dropout
from descentlab.optim import Adam, AdamW, from_transforms
from descentlab.optim import transforms as T
from descentlab.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda: T.clip_by_global_norm(-1.0), "Invalid max_norm: -1.0 (valid: max_norm > 0"),
        (lambda: T.clip_by_global_norm(0.0), "Invalid max_norm: 0.0"),
        (lambda: T.clip_by_global_norm(math.nan), "Invalid max_norm: nan"),
        (lambda: T.clip_by_value(-0.5), "Invalid max_delta: -0.5"),
        (lambda: T.scale_by_learning_rate(-1e-3), "Invalid learning_rate: -0.001"),
        (lambda: T.scale_by_learning_rate(math.nan), "Invalid learning_rate: nan"),
        (lambda: T.scale_by_adam(b1=1.0), "Invalid b1: 1.0 (valid: 0 <= b1 < 1)"),
        (lambda: T.scale_by_adam(b2=-0.1), "Invalid b2: -0.1"),
        (lambda: T.scale_by_adam(eps=-1.0), "Invalid eps: -1.0"),
        (lambda: T.scale_by_rms(alpha=-0.5), "Invalid alpha: -0.5"),
        (lambda: T.scale_by_rss(initial_accumulator_value=-1.0), "Invalid initial_accumulator_value: -1.0"),
        (lambda: T.scale_by_adadelta(rho=1.5), "Invalid rho: 1.5"),
        (lambda: T.trace(decay=-0.9), "Invalid decay: -0.9"),
        (lambda: T.add_decayed_weights(-0.01), "Invalid weight_decay: -0.01"),
        (lambda: T.add_noise(eta=math.inf), "Invalid eta: inf"),
        (lambda: Adam([torch.zeros(2, requires_grad=True)], betas=(0.9,)), "Invalid betas: (0.9,)"),
        (lambda: AdamW([torch.zeros(2, requires_grad=True)], betas=(0.9, 0.99, 0.5)), "Invalid betas"),
        (lambda: Dropout(keep=1e-300), "Dropout(keep=1e-300): valid: 1e-06 <= keep <= 1"),
        (lambda: Dropout(drop=1.0), "Dropout(drop=1.0): valid: 0 <= drop <="),
        (lambda: Dropout(keep=math.nan), "Dropout(keep=nan)"),
    ],
)
def test_out_of_range_arguments_are_refused_at_construction(make, fragment: str) -> None:
    with pytest.raises(ValueError) as caught:
        make()
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda: from_transforms([torch.zeros(2, requires_grad=True)], "adam"), "tx must be a Transform"),
        (lambda: Dropout(keep=True), "keep must be a number, not bool"),
        (lambda: T.clip_by_global_norm("1.0"), "max_norm must be a number, not str"),
    ],
)
def test_arguments_of_the_wrong_type_are_refused_at_construction(make, fragment: str) -> None:
    with pytest.raises(TypeError) as caught:
        make()
    assert fragment in str(caught.value)


def test_clip_by_global_norm_inf_clips_nothing_and_a_valid_norm_matches_torch() -> None:
    # The reference: torch.nn.utils.clip_grad_norm_ (same factor max_norm / (norm + 1e-6), tolerance 1e-6).
    g = [torch.tensor([3.0, 4.0]), torch.tensor([12.0])]  # global norm 13
    for max_norm in (math.inf, 1.0, 20.0):
        tx = T.clip_by_global_norm(max_norm)
        out, _ = tx.update(g, tx.init(g), g, [1.0, 1.0])
        params = [p.clone().requires_grad_() for p in g]
        for p, gi in zip(params, g, strict=True):
            p.grad = gi.clone()
        torch.nn.utils.clip_grad_norm_(params, max_norm)
        for o, p in zip(out, params, strict=True):
            torch.testing.assert_close(o, p.grad, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("cell", [RNNCell, GRUCell])
def test_a_cell_given_a_wrongly_shaped_state_names_it(cell) -> None:
    with pytest.raises(
        ValueError, match=r"hx must have shape \(2, 4\) \(batch, hidden\) for input \(2, 3\); got \(3, 4\)"
    ):
        cell(3, 4)(torch.zeros(2, 3), torch.zeros(3, 4))


def test_an_lstm_cell_given_a_wrongly_shaped_state_names_it() -> None:
    cell = LSTMCell(3, 4)
    with pytest.raises(ValueError, match=r"h must have shape \(2, 4\) .* got \(3, 4\)"):
        cell(torch.zeros(2, 3), (torch.zeros(3, 4), torch.zeros(2, 4)))
    with pytest.raises(ValueError, match=r"c must have shape \(2, 4\) .* got \(2, 5\)"):
        cell(torch.zeros(2, 3), (torch.zeros(2, 4), torch.zeros(2, 5)))
    with pytest.raises(ValueError, match="hx must be a pair"):
        cell(torch.zeros(2, 3), torch.zeros(2, 4))
    torch.nn.LSTMCell(3, 4)(torch.zeros(2, 3), (torch.zeros(2, 4), torch.zeros(2, 4)))  # the same shapes torch takes
    cell(torch.zeros(2, 3), (torch.zeros(2, 4), torch.zeros(2, 4)))


@pytest.mark.parametrize("layer", [RNN, LSTM, GRU])
@pytest.mark.parametrize("impl", ["loop", "bptt", "fused"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_an_empty_sequence_is_refused_by_every_implementation_as_torch_refuses_it(
    layer, impl: str, batch_first: bool
) -> None:
    x = torch.zeros(2, 0, 3) if batch_first else torch.zeros(0, 2, 3)
    reference = getattr(torch.nn, layer.__name__)(3, 4, batch_first=batch_first)
    with pytest.raises(RuntimeError, match="sequence length"):
        reference(x)  # torch refuses it too
    with pytest.raises(ValueError, match="input has no time steps"):
        layer(3, 4, impl=impl, batch_first=batch_first)(x)
