"""Exercise of chapter 8: one time step of a population of leaky integrate-and-fire neurons.

The reference is :class:`descentlab.neuro.models.LIF`'s ``step`` (reset to a value, no refractory period),
tested against the LIF's closed-form firing rate and against snnTorch's formulation.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from descentlab.exercises.cases import DTYPES, dtype_name, integer, pick
from descentlab.exercises.core import Case, Exercise, Mistake
from descentlab.neuro.models import LIF, LIFState, Reset

SECTION = "neuro-neuron-models"


def lif_step(
    v: Tensor,
    current: Tensor,
    dt: float,
    tau_m: float,
    resistance: float,
    v_rest: float,
    threshold: float,
    v_reset: float,
) -> tuple[Tensor, Tensor]:
    model = LIF(
        tau_m=tau_m,
        threshold=threshold,
        resistance=resistance,
        v_rest=v_rest,
        v_reset=v_reset,
        reset=Reset.TO_VALUE,
        refractory=0.0,
        dt=dt,
    )
    state, spikes = model.step(LIFState(v, torch.zeros_like(v)), current)
    return state.v, spikes


def _lif(
    v: Tensor,
    current: Tensor,
    dt: float,
    tau_m: float,
    resistance: float,
    v_rest: float,
    threshold: float,
    v_reset: float,
    *,
    euler: bool = False,
    reset: str = "value",
    spike_on: str = "new",
    inverted_decay: bool = False,
) -> tuple[Tensor, Tensor]:
    """The LIF step with one of its known slips (the variants below)."""
    v_inf = v_rest + resistance * current
    if euler:
        v_new = v + dt / tau_m * (v_inf - v)
    else:
        decay = math.exp(-tau_m / dt) if inverted_decay else math.exp(-dt / tau_m)
        v_new = v_inf + (v - v_inf) * decay
    spikes = (v if spike_on == "old" else v_new) >= threshold
    if reset == "value":
        v_new = torch.where(spikes, torch.full_like(v_new, v_reset), v_new)
    elif reset == "rest":
        v_new = torch.where(spikes, torch.full_like(v_new, v_rest), v_new)
    return v_new, spikes


def _lif_cases(gen: torch.Generator) -> list[Case]:
    fixed = [
        (6, 1.0, 10.0, 0.0, 1.0, 0.0, "mixed"),
        (2, 0.1, 20.0, -65.0, -50.0, -70.0, "fires"),
        (1, 0.5, 5.0, 0.0, 1.0, -0.5, "silent"),
        (8, 2.0, 10.0, -70.0, -55.0, -75.0, "mixed"),
    ]
    rand = [
        (
            integer(gen, 1, 10),
            pick(gen, (0.1, 0.5, 1.0, 2.0)),
            pick(gen, (5.0, 10.0, 20.0)),
            0.0,
            1.0,
            pick(gen, (0.0, -0.2)),
            "mixed",
        )
        for _ in range(4)
    ]
    out = []
    for n, dt, tau, v_rest, threshold, v_reset, kind in fixed + rand:
        dtype = pick(gen, DTYPES)
        gap = threshold - v_rest
        v = (v_rest + gap * torch.rand(n, generator=gen, dtype=torch.float64) * 1.05).to(dtype)
        if kind == "fires":  # just below the threshold, under a strong current: every neuron fires
            v = torch.full((n,), threshold - 0.01 * gap, dtype=dtype)
        resistance = pick(gen, (1.0, 2.0))
        drive = {
            "mixed": (torch.rand(n, generator=gen, dtype=torch.float64) * 3) * gap,
            "fires": torch.full((n,), 40.0 * gap, dtype=torch.float64),
            "silent": torch.full((n,), 0.2 * gap, dtype=torch.float64),
        }[kind]
        current = (drive / resistance).to(dtype)
        label = (
            f"{kind}: {n} neuron{'s' if n > 1 else ''}, dt {dt} ms, tau_m {tau} ms, R {resistance}, "
            f"V_rest {v_rest}, V_th {threshold}, V_reset {v_reset}, {dtype_name(dtype)}"
        )
        out.append(Case(label, (v, current, dt, tau, resistance, v_rest, threshold, v_reset)))
    return out


LIF_STEP = Exercise(
    name="lif_step",
    chapter="neuro",
    section=SECTION,
    difficulty=2,
    title="one time step of leaky integrate-and-fire neurons",
    parameters=("v", "current", "dt", "tau_m", "resistance", "v_rest", "threshold", "v_reset"),
    returns="(v, spikes)",
    docstring=r"""
One time step of a population of leaky integrate-and-fire neurons (the lab book, chapter 8, Neuron models):

    tau_m dV/dt = -(V - V_rest) + R I,      V >= V_th  =>  spike, then V <- V_reset

For a current held constant over the step, the equation is solved exactly (not by an Euler step):

    V_inf = V_rest + R I
    V'    = V_inf + (V - V_inf) * exp(-dt / tau_m)
    spike where V' >= threshold; there V' is replaced by v_reset

Arguments: v, the membrane potentials (n,) float; current, I, (n,) of v's dtype; dt, the step in ms > 0;
tau_m, the membrane time constant in ms > 0; resistance, R > 0; v_rest; threshold > v_rest; v_reset.
Returns (v_new, spikes): v_new (n,) of v's dtype (after the reset), spikes (n,) bool (True where the
neuron fired in this step; a tensor of 0.0 and 1.0 is accepted too).

The checker tries a single neuron, neurons that all fire, none that fire, a mix, dt from 0.1 to 2 ms,
physiological values (mV) and unit values, float32 and float64.
""",
    reference=lif_step,
    cases=_lif_cases,
    mistakes=(
        Mistake(
            "Euler step",
            "You took a forward Euler step, V + dt / tau_m (V_inf - V): for a constant current the "
            "equation is solved exactly, V_inf + (V - V_inf) exp(-dt / tau_m).",
            SECTION,
            lambda *a: _lif(*a, euler=True),
        ),
        Mistake(
            "no reset",
            "You did not reset the neurons that fired: after a spike V is set to v_reset.",
            SECTION,
            lambda *a: _lif(*a, reset="none"),
        ),
        Mistake(
            "reset to rest",
            "You reset to v_rest: after a spike the membrane goes to v_reset, which may differ.",
            SECTION,
            lambda *a: _lif(*a, reset="rest"),
        ),
        Mistake(
            "threshold tested before integrating",
            "You compared the old potential with the threshold: the "
            "step integrates first, then fires where the new potential reaches it.",
            SECTION,
            lambda *a: _lif(*a, spike_on="old"),
        ),
        Mistake(
            "decay exp(-tau_m / dt)",
            "Your decay factor was exp(-tau_m / dt): the membrane relaxes by "
            "exp(-dt / tau_m) per step, close to 1 for a short step.",
            SECTION,
            lambda *a: _lif(*a, inverted_decay=True),
        ),
    ),
)

EXERCISES = (LIF_STEP,)
