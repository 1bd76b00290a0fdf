r"""Learning rules observed in the brain: Oja's Hebbian rule and spike-timing-dependent plasticity.

* Oja (1982): a linear neuron :math:`y = w^\top x` with the Hebbian update stabilized by a decay,
  :math:`\Delta w = \eta \, y (x - y w)`; for zero-mean data ``w`` converges to the unit-norm leading
  eigenvector of the covariance, the first principal component.
* Pair-based STDP (Bi and Poo 1998; Song, Miller and Abbott 2000) with exponential windows: a synapse
  whose presynaptic spike precedes the postsynaptic one by :math:`\Delta t > 0` grows by
  :math:`A_+ e^{-\Delta t / \tau_+}`, one whose presynaptic spike follows it shrinks by
  :math:`A_- e^{\Delta t / \tau_-}`. Implemented with traces: each presynaptic spike adds 1 to a trace
  decaying with :math:`\tau_+`, read when the neuron fires (potentiation); each postsynaptic spike adds
  1 to a trace decaying with :math:`\tau_-`, read when an input fires (depression).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from descentlab.errors import ParameterError


def oja(data: Tensor, lr: float = 0.01, epochs: int = 20, generator: torch.Generator | None = None) -> Tensor:
    """Run Oja's rule over the rows of ``data`` (centred first), ``epochs`` passes in shuffled order;
    returns the weight vector (it tends to the first principal component, norm 1)."""
    if data.ndim != 2 or len(data) < 2:
        raise ParameterError("data", "must be a (samples, features) matrix with at least two samples")
    x = data - data.mean(0)
    w = torch.randn(x.shape[1], generator=generator, dtype=x.dtype)
    w /= w.norm()
    for _ in range(epochs):
        for i in torch.randperm(len(x), generator=generator).tolist():
            y = w @ x[i]
            w += lr * y * (x[i] - y * w)  # Hebbian growth y x, minus the decay y^2 w that bounds |w|
    return w


@dataclass(frozen=True)
class STDP:
    """Pair-based STDP with exponential windows, on the weights of one LIF neuron's input synapses."""

    a_plus: float = 0.01
    a_minus: float = 0.0065  # a_minus tau_minus = 1.3 a_plus tau_plus: uncorrelated inputs weaken on average
    tau_plus: float = 16.8  # ms (Bi and Poo 1998, as fitted by Masquelier et al. 2008)
    tau_minus: float = 33.7  # ms
    w_max: float = 1.0

    def window(self, dt: Tensor | float) -> Tensor:
        """The weight change for one pair, ``dt = t_post - t_pre`` in ms."""
        dt = torch.as_tensor(dt, dtype=torch.float64)
        return torch.where(dt > 0, self.a_plus * torch.exp(-dt / self.tau_plus),
                           -self.a_minus * torch.exp(dt / self.tau_minus))  # fmt: skip

    def step(self, w: Tensor, pre: Tensor, fired: bool, traces: tuple[Tensor, float], dt: float = 1.0,
             clip: bool = True) -> tuple[Tensor, tuple[Tensor, float]]:  # fmt: skip
        """One time step: decay the traces, count this step's spikes, change ``w``; returns ``(w, traces)``.

        ``pre`` is this step's presynaptic spikes (0/1 per input), ``fired`` whether the neuron spiked.
        A pair of spikes in the same step counts as pre before post.
        """
        pre_trace, post_trace = traces
        pre_trace = pre_trace * math.exp(-dt / self.tau_plus) + pre
        post_trace = post_trace * math.exp(-dt / self.tau_minus)
        w = w - self.a_minus * post_trace * pre  # pre after an earlier post: depression
        if fired:
            w = w + self.a_plus * pre_trace  # pre before (or with) post: potentiation
            post_trace += 1.0
        return (w.clamp(0.0, self.w_max) if clip else w), (pre_trace, post_trace)


@dataclass
class PatternResult:
    weights: Tensor  # (recorded steps, inputs) weights over time
    times: Tensor  # (recorded steps,) seconds
    pattern_inputs: Tensor  # (inputs,) bool: which inputs take part in the pattern
    post_spikes: Tensor  # (steps,) bool
    in_pattern: Tensor  # (steps,) bool: whether the pattern is being presented


def repeated_pattern(
    inputs: int = 200, pattern_fraction: float = 0.5, rate_hz: float = 20.0, pattern_ms: float = 50.0,
    seconds: float = 60.0, dt: float = 1.0, rule: STDP | None = None, seed: int = 0, record_every: int = 500,
    threshold_factor: float = 1.1,
) -> PatternResult:  # fmt: skip
    """A neuron learns a spike pattern hidden in noise (after Masquelier, Guyonneau and Thorpe 2008).

    ``inputs`` afferents fire as Poisson processes at ``rate_hz``. A fraction of them take part in a
    fixed ``pattern_ms`` spike pattern (drawn once, at the same rate), presented every 4 pattern
    lengths on average at random times; outside it they fire as noise too, so the pattern has the same
    rate statistics as the background. A LIF neuron (tau 10 ms) sums the weighted input spikes; STDP
    changes the weights. Returns the weights over time, which afferents are in the pattern, and when
    the neuron fired.
    """
    if not 0 < pattern_fraction <= 1:
        raise ParameterError(
            "pattern_fraction", f"{pattern_fraction} is out of range; valid: 0 < pattern_fraction <= 1"
        )
    rule = rule or STDP()
    gen = torch.Generator().manual_seed(seed)
    steps, p = round(seconds * 1000 / dt), rate_hz * dt / 1000
    length = round(pattern_ms / dt)
    members = torch.zeros(inputs, dtype=torch.bool)
    members[torch.randperm(inputs, generator=gen)[: round(pattern_fraction * inputs)]] = True
    pattern = (torch.rand(length, inputs, generator=gen) < p) & members  # the frozen pattern
    w = torch.full((inputs,), 0.5, dtype=torch.float64)
    decay = math.exp(-dt / 10.0)  # membrane time constant 10 ms
    threshold = threshold_factor * inputs * p * 0.5 / (1 - decay)  # above the mean membrane at the initial weights
    v, traces = 0.0, (torch.zeros(inputs, dtype=torch.float64), 0.0)
    post, shown = torch.zeros(steps, dtype=torch.bool), torch.zeros(steps, dtype=torch.bool)
    recorded, times = [], []
    t, next_pattern = 0, length * (2 + int(torch.randint(0, 5, (1,), generator=gen)))
    noise = torch.rand(steps, inputs, generator=gen) < p
    while t < steps:
        if t == next_pattern and t + length <= steps:
            spikes = noise[t : t + length].clone()
            spikes[:, members] = pattern[:, members]  # the pattern replaces the members' noise
            block, next_pattern = spikes, t + length * (2 + int(torch.randint(0, 5, (1,), generator=gen)))
            shown[t : t + length] = True
        else:
            block = noise[t : t + 1]
        for row in block.double():
            v = v * decay + float(w @ row)
            fired = v >= threshold
            if fired:
                post[t], v = True, 0.0
            w, traces = rule.step(w, row, fired, traces, dt)
            if t % record_every == 0:
                recorded.append(w.clone())
                times.append(t * dt / 1000)
            t += 1
    return PatternResult(torch.stack(recorded), torch.tensor(times), members, post, shown)
