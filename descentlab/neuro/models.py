"""Neuron models of computational neuroscience, vectorized over many neurons (CPU or GPU).

Each model holds its parameters, keeps no state of its own, and steps a state tensor forward by ``dt``
milliseconds under an input current: ``state = model.init(n)``, then ``state, spikes = model.step(state,
current)``. :func:`simulate` runs one for a duration and records voltages and spikes.

* :class:`LIF` - leaky integrate-and-fire.
* :class:`Izhikevich` - Izhikevich (2003), with the paper's five cortical firing patterns.
* :class:`HodgkinHuxley` - Hodgkin and Huxley (1952), squid giant axon.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from descentlab.errors import ParameterError


class Reset(enum.Enum):
    """What a LIF neuron's membrane does after a spike."""

    SUBTRACT = "subtract"  # V <- V - threshold (keeps the overshoot; snnTorch's default)
    TO_VALUE = "to-value"  # V <- v_reset


class LIFState(NamedTuple):
    v: Tensor  # membrane potential
    refractory: Tensor  # milliseconds left in the refractory period


@dataclass(frozen=True)
class LIF:
    r"""Leaky integrate-and-fire neuron.

    .. math::
        \tau_m \frac{dV}{dt} = -(V - V_{rest}) + R I(t), \qquad V \ge \vartheta \Rightarrow
        \text{spike, then } V \leftarrow V - \vartheta \text{ or } V \leftarrow V_{reset}

    For a current held constant over a step the equation is solved exactly,
    :math:`V(t + \Delta t) = V_\infty + (V(t) - V_\infty) e^{-\Delta t / \tau_m}` with
    :math:`V_\infty = V_{rest} + R I`, so the membrane follows its closed form at any ``dt``. During the
    refractory period after a spike the membrane is held at its reset value. Under a constant current
    above threshold (reset to ``V_rest = 0``, no refractory period) it fires with period
    :math:`\tau_m \ln\big(RI / (RI - \vartheta)\big)`.
    """

    tau_m: float = 10.0  # ms
    threshold: float = 1.0
    resistance: float = 1.0
    v_rest: float = 0.0
    v_reset: float = 0.0
    reset: Reset = Reset.TO_VALUE
    refractory: float = 0.0  # ms
    dt: float = 0.1  # ms

    def __post_init__(self) -> None:
        for name in ("tau_m", "dt"):
            if not getattr(self, name) > 0:
                raise ParameterError(name, f"{getattr(self, name)} is out of range; valid: a number > 0 (ms)")
        if self.refractory < 0:
            raise ParameterError("refractory", f"{self.refractory} is out of range; valid: a number >= 0 (ms)")
        if not self.threshold > self.v_rest:
            raise ParameterError(
                "threshold", f"{self.threshold} is out of range; valid: above the resting potential {self.v_rest}"
            )

    def init(self, n: int, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float64) -> LIFState:
        v = torch.full((n,), self.v_rest, device=device, dtype=dtype)
        return LIFState(v, torch.zeros_like(v))

    def step(self, state: LIFState, current: Tensor | float) -> tuple[LIFState, Tensor]:
        decay = math.exp(-self.dt / self.tau_m)
        i = torch.as_tensor(current, dtype=state.v.dtype, device=state.v.device)
        v_inf = i if self.v_rest == 0 and self.resistance == 1 else self.v_rest + self.resistance * i
        v = torch.lerp(v_inf, state.v, decay)  # V_inf + (V - V_inf) e^(-dt / tau): exact for a constant current
        refractory = state.refractory
        if self.refractory > 0:  # held at the reset value while refractory
            hold = self.v_reset if self.reset is Reset.TO_VALUE else self.v_rest
            v = torch.where(refractory > 0, torch.full_like(v, hold), v)
        spikes = v >= self.threshold
        if self.reset is Reset.SUBTRACT:
            v = v - spikes.to(v.dtype) * self.threshold
        else:
            v = v.masked_fill(spikes, self.v_reset)
        if self.refractory > 0:
            refractory = torch.where(spikes, torch.full_like(v, self.refractory), (refractory - self.dt).clamp_min(0))
        return LIFState(v, refractory), spikes

    def rate(self, current: float) -> float:
        """The closed-form firing rate in Hz under a constant current (reset to rest, refractory included)."""
        drive = self.resistance * current
        gap = self.threshold - self.v_rest
        if drive <= gap:
            return 0.0
        period = self.tau_m * math.log(drive / (drive - gap)) + self.refractory
        return 1000.0 / period


class IzhikevichState(NamedTuple):
    v: Tensor  # membrane potential, mV
    u: Tensor  # recovery variable


#: Izhikevich (2003), Fig. 2: (a, b, c, d) of the five cortical patterns
PATTERNS: dict[str, tuple[float, float, float, float]] = {
    "regular-spiking": (0.02, 0.2, -65.0, 8.0),
    "intrinsically-bursting": (0.02, 0.2, -55.0, 4.0),
    "chattering": (0.02, 0.2, -50.0, 2.0),
    "fast-spiking": (0.1, 0.2, -65.0, 2.0),
    "low-threshold-spiking": (0.02, 0.25, -65.0, 2.0),
}


@dataclass(frozen=True)
class Izhikevich:
    r"""Izhikevich (2003) simple model of spiking neurons.

    .. math::
        v' = 0.04 v^2 + 5 v + 140 - u + I, \qquad u' = a (b v - u), \qquad
        v \ge 30 \text{ mV} \Rightarrow v \leftarrow c, \; u \leftarrow u + d

    ``a`` is the recovery's time scale, ``b`` its sensitivity to ``v``, ``c`` the reset potential and
    ``d`` the recovery's jump after a spike. :data:`PATTERNS` holds the paper's five cortical sets.
    Integrated by forward Euler with ``dt`` (the paper uses two half steps of 0.5 ms for ``v``; the
    default 0.1 ms is finer).
    """

    a: float = 0.02
    b: float = 0.2
    c: float = -65.0
    d: float = 8.0
    dt: float = 0.1

    @classmethod
    def pattern(cls, name: str, dt: float = 0.1) -> Izhikevich:
        if name not in PATTERNS:
            raise ParameterError("pattern", f"{name!r} is not valid; valid: one of {', '.join(PATTERNS)}")
        return cls(*PATTERNS[name], dt=dt)

    def init(self, n: int, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float64) -> IzhikevichState:
        v = torch.full((n,), -65.0, device=device, dtype=dtype)
        return IzhikevichState(v, self.b * v)

    def step(self, state: IzhikevichState, current: Tensor | float) -> tuple[IzhikevichState, Tensor]:
        v, u = state
        i = torch.as_tensor(current, dtype=v.dtype, device=v.device)
        v_new = v + self.dt * (0.04 * v * v + 5.0 * v + 140.0 - u + i)
        u_new = u + self.dt * self.a * (self.b * v - u)
        spikes = v_new >= 30.0
        v_new = torch.where(spikes, torch.full_like(v_new, self.c), v_new)
        u_new = torch.where(spikes, u_new + self.d, u_new)
        return IzhikevichState(v_new, u_new), spikes


class HHState(NamedTuple):
    v: Tensor  # membrane potential, mV
    m: Tensor  # sodium activation
    h: Tensor  # sodium inactivation
    n: Tensor  # potassium activation


@dataclass(frozen=True)
class HodgkinHuxley:
    r"""Hodgkin and Huxley (1952): the squid giant axon's membrane, currents in uA/cm^2.

    .. math::
        C \frac{dV}{dt} = I - \bar g_{Na} m^3 h (V - E_{Na}) - \bar g_K n^4 (V - E_K) - g_L (V - E_L),
        \qquad \frac{dx}{dt} = \alpha_x(V)(1 - x) - \beta_x(V) x, \quad x \in \{m, h, n\}

    with the rate functions of the modern convention (rest near -65 mV). The gates are advanced by the
    exponential (Rush-Larsen) step, exact for a voltage held over the step; the voltage by forward
    Euler. A spike is counted when ``V`` crosses ``spike_threshold`` upwards.
    """

    c_m: float = 1.0  # uF/cm^2
    g_na: float = 120.0  # mS/cm^2
    g_k: float = 36.0
    g_l: float = 0.3
    e_na: float = 50.0  # mV
    e_k: float = -77.0
    e_l: float = -54.387
    dt: float = 0.01  # ms
    spike_threshold: float = 0.0  # mV

    @staticmethod
    def rates(v: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
        """(alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n) at voltage ``v`` in mV, per ms."""
        x_m, x_n = v + 40.0, v + 55.0
        safe_m = torch.where(x_m.abs() < 1e-6, torch.full_like(x_m, 1e-6), x_m)  # the removable singularity
        safe_n = torch.where(x_n.abs() < 1e-6, torch.full_like(x_n, 1e-6), x_n)
        alpha_m = 0.1 * safe_m / (1.0 - torch.exp(-safe_m / 10.0))
        beta_m = 4.0 * torch.exp(-(v + 65.0) / 18.0)
        alpha_h = 0.07 * torch.exp(-(v + 65.0) / 20.0)
        beta_h = 1.0 / (1.0 + torch.exp(-(v + 35.0) / 10.0))
        alpha_n = 0.01 * safe_n / (1.0 - torch.exp(-safe_n / 10.0))
        beta_n = 0.125 * torch.exp(-(v + 65.0) / 80.0)
        return alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n

    def init(self, n: int, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float64) -> HHState:
        v = torch.full((n,), -65.0, device=device, dtype=dtype)
        am, bm, ah, bh, an, bn = self.rates(v)
        return HHState(v, am / (am + bm), ah / (ah + bh), an / (an + bn))  # the gates at rest

    def step(self, state: HHState, current: Tensor | float) -> tuple[HHState, Tensor]:
        v, m, h, n = state
        i = torch.as_tensor(current, dtype=v.dtype, device=v.device)
        i_ion = (self.g_na * m**3 * h * (v - self.e_na) + self.g_k * n**4 * (v - self.e_k)
                 + self.g_l * (v - self.e_l))  # fmt: skip
        v_new = v + self.dt * (i - i_ion) / self.c_m
        am, bm, ah, bh, an, bn = self.rates(v)
        gates = []
        for x, alpha, beta in ((m, am, bm), (h, ah, bh), (n, an, bn)):
            total = alpha + beta
            x_inf = alpha / total
            gates.append(x_inf + (x - x_inf) * torch.exp(-self.dt * total))  # exact for fixed V
        spikes = (v < self.spike_threshold) & (v_new >= self.spike_threshold)
        return HHState(v_new, *gates), spikes


class Recording(NamedTuple):
    t: Tensor  # (steps,) ms
    v: Tensor  # (steps, n) membrane potential
    spikes: Tensor  # (steps, n) bool


def simulate(model: LIF | Izhikevich | HodgkinHuxley, current: Tensor | float, duration: float, n: int = 1,
             device: torch.device | str = "cpu", record: bool = True) -> tuple[Recording | None, Tensor]:  # fmt: skip
    """Run ``model`` for ``duration`` ms under a constant ``current`` (a number, or one per neuron).

    Returns the recording (voltages and spikes at every step; None with ``record=False``) and the spike
    count of each neuron.
    """
    if not duration > 0:
        raise ParameterError("duration", f"{duration} is out of range; valid: a number > 0 (ms)")
    steps = max(1, round(duration / model.dt))
    state = model.init(n, device)
    count = torch.zeros(n, dtype=torch.long, device=device)
    vs, ss = [], []
    for _ in range(steps):
        state, spikes = model.step(state, current)  # type: ignore[arg-type]
        count += spikes
        if record:
            vs.append(state.v)
            ss.append(spikes)
    if not record:
        return None, count
    t = torch.arange(1, steps + 1, dtype=torch.float64) * model.dt
    return Recording(t, torch.stack(vs), torch.stack(ss)), count
