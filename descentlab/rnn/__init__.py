"""Recurrent networks from scratch: cells written out gate by gate and stacked layers with torch's
parameter names and layout, a loop, a hand-written backpropagation through time and a fused implementation of each (see
:mod:`descentlab.rnn.layers`)."""

from descentlab.rnn.cells import GRUCell, LSTMCell, LSTMGates, RNNCell, gru_step, lstm_step, rnn_step
from descentlab.rnn.layers import GRU, IMPLS, LSTM, RNN

__all__ = [
    "GRU",
    "IMPLS",
    "LSTM",
    "RNN",
    "GRUCell",
    "LSTMCell",
    "LSTMGates",
    "RNNCell",
    "gru_step",
    "lstm_step",
    "rnn_step",
]  # fmt: skip
