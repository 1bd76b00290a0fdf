"""``descentlab neuro simulate``: one neuron (or a population with currents spread from 0) under a constant
current, its spike count and rate, and optionally its voltage trace and f-I curve as a figure; not a run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from descentlab.config import Options, param
from descentlab.errors import ParameterError
from descentlab.experiments.declaration import Call, Command
from descentlab.neuro import LIF, PATTERNS, HodgkinHuxley, Izhikevich, Reset, simulate


def neuron_figure(
    recording: Any, title: str, current: float, fi: tuple[list[float], list[float]] | None = None
) -> Figure:
    """A neuron's membrane potential against time with its spikes marked (the last neuron of the recording),
    a raster of every neuron's spikes when there are several, and optionally the f-I curve."""
    n = recording.v.shape[1]
    panels = 1 + (n > 1) + (fi is not None)
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 3.6), squeeze=False)
    ax = axes[0][0]
    t, v = recording.t.numpy(), recording.v[:, -1].numpy()
    ax.plot(t, v, lw=0.8)
    spikes = recording.spikes[:, -1].numpy().astype(bool)
    ax.plot(t[spikes], v[spikes], "|", color="C3", ms=12, label=f"{int(spikes.sum())} spikes")
    ax.set(xlabel="time (ms)", ylabel="membrane potential", title=f"{title}, current {current:g}")
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)
    k = 1
    if n > 1:
        steps, neurons = recording.spikes.nonzero(as_tuple=True)
        axes[0][k].plot(t[steps.numpy()], neurons.numpy(), "|", ms=3, color="k")
        axes[0][k].set(xlabel="time (ms)", ylabel=f"neuron (current 0 to {current:g})", title="raster", ylim=(-1, n))
        k += 1
    if fi:
        axes[0][k].plot(*fi, "o-", ms=3)
        axes[0][k].set(xlabel="current", ylabel="firing rate (Hz)", title="f-I curve")
        axes[0][k].grid(alpha=0.3)
    fig.tight_layout()
    return fig


# ---- neuro simulate -----------------------------------------------------------------------------

MAX_STEPS = 10_000_000
MAX_NEURON_STEPS = 50_000_000  # the recorded voltages of all neurons: 400 MB in float64


@dataclass(frozen=True)
class SimulateOptions(Options):
    model: str = param(None, "the neuron model", choices=("lif", "izhikevich", "hh"), required=True)
    pattern: str = param("regular-spiking", "Izhikevich's parameter set", choices=tuple(PATTERNS))
    current: float | None = param(None, "input current (default: 1.5 LIF, 10 otherwise)", low=-1e4, high=1e4)
    duration: float = param(1000.0, "milliseconds", low=0.0, low_open=True, high=1e6)
    dt: float | None = param(None, "time step in ms (default 0.1; 0.01 for hh)", low=0.0, low_open=True, high=10.0)
    tau_m: float = param(10.0, "LIF membrane time constant, ms", low=0.0, low_open=True, high=1e6)
    threshold: float = param(1.0, "LIF threshold", low=-1e6, high=1e6)
    resistance: float = param(1.0, "LIF membrane resistance", low=0.0, low_open=True, high=1e6)
    reset: str = param(
        "to-value", "LIF reset: to 0 (to-value) or subtract the threshold", choices=("to-value", "subtract")
    )
    refractory: float = param(0.0, "LIF refractory period, ms", low=0.0, high=1e6)
    neurons: int = param(1, "simulate N neurons with currents spread from 0 to --current; --out adds their raster",
                         low=1, high=10_000)  # fmt: skip
    fi: str | None = param(None, "also an f-I curve over currents LOW..HIGH (with --out)", metavar="LOW,HIGH")
    out: str | None = param(None, "write the voltage trace (and f-I curve) here", metavar="FILE.png")
    json: bool = param(False, "print one JSON object")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.out is not None and Path(self.out).suffix.lower() != ".png":
            raise ParameterError("out", f"{self.out}: the figure is a PNG; give a name ending in .png")
        if self.out is not None and not Path(self.out).parent.is_dir():
            raise ParameterError("out", f"{self.out}: folder {Path(self.out).parent} does not exist")
        self.fi_range()

    def fi_range(self) -> tuple[float, float] | None:
        if self.fi is None:
            return None
        try:
            low, high = (float(x) for x in self.fi.split(","))
        except ValueError:
            raise ParameterError("fi", f"{self.fi!r}: valid: LOW,HIGH currents such as 0,30") from None
        return low, high

    def neuron(self) -> LIF | Izhikevich | HodgkinHuxley:
        if self.model == "lif":
            return LIF(tau_m=self.tau_m, threshold=self.threshold, resistance=self.resistance,
                       reset=Reset(self.reset), refractory=self.refractory, dt=self.dt or 0.1)  # fmt: skip
        if self.model == "izhikevich":
            return Izhikevich.pattern(self.pattern, dt=self.dt or 0.1)
        return HodgkinHuxley(dt=self.dt or 0.01)


def run_simulate(call: Call) -> int:
    opts: SimulateOptions = call.options
    model = opts.neuron()
    current = opts.current if opts.current is not None else (1.5 if opts.model == "lif" else 10.0)
    steps, n = round(opts.duration / model.dt), opts.neurons
    if steps > MAX_STEPS:
        raise ParameterError("duration", f"{opts.duration} at dt {model.dt}: over 10 million steps; raise dt")
    if steps * n > MAX_NEURON_STEPS:
        raise ParameterError("neurons", f"{n} neurons for {steps:,} steps: over {MAX_NEURON_STEPS:,} neuron-steps to "
                             "record; simulate fewer neurons, a shorter time or a larger dt")  # fmt: skip
    currents = torch.linspace(0.0, current, n, dtype=torch.float64) if n > 1 else torch.tensor([current])
    recording, count = simulate(model, currents, opts.duration, n=n)
    spikes = int(count[-1])  # the neuron given --current itself
    result: dict[str, Any] = {"model": opts.model, "current": current, "duration_ms": opts.duration,
                              "dt_ms": model.dt, "spikes": spikes, "rate_hz": 1000.0 * spikes / opts.duration}  # fmt: skip
    if isinstance(model, LIF):
        result["closed_form_rate_hz"] = model.rate(current)
    if opts.model == "izhikevich":
        result["pattern"] = opts.pattern
    if n > 1:
        result["rates_hz"] = (1000.0 * count.double() / opts.duration).tolist()
    if opts.out:
        fi = None
        fi_range = opts.fi_range()
        if fi_range is not None:
            fi_currents = torch.linspace(*fi_range, 31, dtype=torch.float64)
            seconds = min(opts.duration, 1000.0)
            _, counts = simulate(model, fi_currents, seconds, n=31, record=False)
            fi = (fi_currents.tolist(), (1000.0 * counts.double() / seconds).tolist())
        assert recording is not None
        title = f"{opts.model} ({opts.pattern})" if opts.model == "izhikevich" else opts.model
        fig = neuron_figure(recording, title, current, fi)
        fig.savefig(opts.out, dpi=110, bbox_inches="tight")
        plt.close(fig)
        result["figure"] = opts.out
    if opts.json:
        print(json.dumps(result))
    else:
        closed = f" (closed form {result['closed_form_rate_hz']:.2f} Hz)" if "closed_form_rate_hz" in result else ""
        print(f"{result['spikes']} spikes in {opts.duration:g} ms: {result['rate_hz']:.2f} Hz{closed}"
              + (f"; figure: {opts.out}" if opts.out else ""))  # fmt: skip
    return 0


NEURO_SIMULATE = Command(
    command="neuro simulate",
    help="simulate one neuron under a constant current: spikes, rate, voltage trace",
    description=(
        "Simulate one neuron for --duration ms under a constant --current (LIF: in units of the\n"
        "threshold over the resistance; Izhikevich: the paper's units; Hodgkin-Huxley: uA/cm^2).\n"
        "Prints the spike count and rate; --out writes the voltage trace and, with --fi, the f-I curve."
    ),
    examples=(
        "descentlab neuro simulate --model lif --tau-m 10 --threshold 1 --current 1.5 --duration 1000 --json",
        "descentlab neuro simulate --model lif --current 1.5 --refractory 2 --reset subtract",
        "descentlab neuro simulate --model izhikevich --pattern intrinsically-bursting --current 10 --out ib.png",
        "descentlab neuro simulate --model hh --current 10 --duration 100 --fi 0,30 --out hh.png",
    ),
    run=run_simulate,
    options=SimulateOptions,
)
