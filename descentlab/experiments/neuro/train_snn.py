"""``descentlab neuro train-snn``: a spiking network and the same-size artificial network on MNIST.

The spiking network is 784-H-10 with a layer of LIF neurons (:class:`descentlab.neuro.snn.Leaky`) after
each linear map, run for ``steps`` time steps per image and trained by backpropagation through time
with surrogate gradients and an optimizer of ``descentlab.optim``. The image enters as a constant input
current each step (``--encoding direct``) or as Bernoulli spike trains (``--encoding rate``). Its output
is the output layer's membrane potential averaged over the steps, read like an ANN's logits (cross-
entropy in training, argmax to classify). The artificial network is the same 784-H-10 with ReLU, trained
with the same optimizer, data order and budget; the table compares accuracy, multiply-accumulates
against synaptic operations (one per spike per outgoing synapse) and time steps.

Read top to bottom: config, the networks, the run, the comparison table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from descentlab.config import RunConfig, param
from descentlab.experiments.declaration import Experiment, TourSettings, check_mnist, checkpoint_every_param
from descentlab.neuro.snn import SURROGATES, Leaky, rate_encode
from descentlab.optim.by_name import OPTIMIZERS, optimizer_by_name
from descentlab.optim.regimes import mini_batch
from descentlab.report import Bound, Claim, Section
from descentlab.report.plots import variant_curves
from descentlab.runs import Run, RunRecord, StopFlag, select_device
from descentlab.training.supervised import Variant, load_data, make_mlp, run_variants


@dataclass(frozen=True)
class SNNConfig(RunConfig):
    """Settings of ``descentlab neuro train-snn``."""

    hidden: int = param(1000, "LIF neurons in the hidden layer (the ANN's hidden units too)", low=1, high=100_000)
    steps: int = param(25, "time steps per image", low=1, high=1000)
    beta: float = param(0.95, "membrane decay per step", low=0.0, high=1.0)
    threshold: float = param(1.0, "firing threshold", low=0.0, low_open=True, high=1e6)
    surrogate: str = param("atan", "surrogate derivative of the spike", choices=tuple(SURROGATES))
    encoding: str = param("direct", "input: direct (the image as a current every step) or rate (Bernoulli spikes)",
                          choices=("direct", "rate"))  # fmt: skip
    optimizer: str = param("adam", "a descentlab.optim optimizer", choices=OPTIMIZERS)
    lr: float = param(5e-4, "learning rate", low=0.0, low_open=True, high=10.0)
    batch_size: int = param(128, "examples per step", low=1, high=55_000)
    epochs: int = param(5, "passes over the training split", low=1, high=1000)
    max_seconds: float = param(1800.0, "training-time budget per network in seconds (0: none)", low=0.0, high=1e7)
    variants: str = param("snn,ann", "networks to train, in order", choices=("snn,ann", "snn", "ann"))
    train_size: int = param(0, "training images (0: all 55,000)", low=0, high=55_000)
    val_size: int = param(5000, "validation images held out of the 60,000", low=100, high=30_000)
    eval_every: int = param(27_500, "training examples between validation passes", low=1, high=10**9)
    checkpoint_every: int = checkpoint_every_param()

    @property
    def run_name(self) -> str:
        return f"snn-{self.hidden}-{self.steps}steps-{self.encoding}"


class SpikingMLP(nn.Module):
    """784-H-10 with a LIF layer after each linear map; returns the output membrane averaged over time."""

    def __init__(self, hidden: int, steps: int, beta: float, threshold: float, surrogate: str, encoding: str):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(784, hidden), nn.Linear(hidden, 10)
        self.lif1 = Leaky(beta, threshold, surrogate)
        self.lif2 = Leaky(beta, threshold, surrogate)
        self.steps, self.encoding = steps, encoding
        # data-parallel (set by generalize.draw_for_global_batch): (rows of the whole batch, this process's rows)
        self.global_batch: tuple[int, range] | None = None

    def forward(self, x: Tensor) -> Tensor:
        return self.run(x)[0]

    def run(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``(mean output membrane, hidden spike count per image, input events per image)``."""
        if self.encoding == "direct":
            current1 = self.fc1(x)  # the same input current every step: one product for all steps
            inputs = None
        else:
            pixels = (x * 0.3081 + 0.1307).clamp(0, 1)  # back to [0, 1] intensities: firing probabilities
            inputs = self._spike_trains(pixels)
        mem1 = torch.zeros(x.shape[0], self.fc1.out_features, device=x.device, dtype=x.dtype)
        mem2 = torch.zeros(x.shape[0], 10, device=x.device, dtype=x.dtype)
        total = torch.zeros_like(mem2)
        hidden_spikes = torch.zeros(x.shape[0], device=x.device)
        for t in range(self.steps):
            spk1, mem1 = self.lif1(current1 if inputs is None else self.fc1(inputs[t]), mem1)
            _, mem2 = self.lif2(self.fc2(spk1), mem2)
            total = total + mem2
            hidden_spikes = hidden_spikes + spk1.detach().sum(1)
        events = inputs.sum((0, 2)) if inputs is not None else torch.full_like(hidden_spikes, 784.0)
        return total / self.steps, hidden_spikes, events

    def _spike_trains(self, pixels: Tensor) -> Tensor:
        """``(steps, batch, 784)`` Bernoulli spikes; in a data-parallel group, drawn for the whole batch as one
        process draws them (the other rows' probabilities are 0: a Bernoulli draw takes one uniform number per
        element whatever its probability) and this process's rows kept."""
        if self.global_batch is None or not self.training:
            return rate_encode(pixels, self.steps)
        total, rows = self.global_batch
        padded = pixels.new_zeros((total, *pixels.shape[1:]))
        padded[rows.start : rows.stop] = pixels
        return rate_encode(padded, self.steps)[:, rows.start : rows.stop]


def build_model(cfg: SNNConfig, name: str) -> nn.Module:
    if name == "ann":
        return make_mlp([cfg.hidden])
    return SpikingMLP(cfg.hidden, cfg.steps, cfg.beta, cfg.threshold, cfg.surrogate, cfg.encoding)


def train(cfg: SNNConfig, run: Run, stop: StopFlag, state: dict[str, Any] | None = None) -> dict[str, float]:
    device = select_device(cfg.device)
    data = load_data(cfg.val_size, cfg.train_size, device)

    def build(name: str) -> Variant:
        model = build_model(cfg, name).to(device)
        optimizer = optimizer_by_name(cfg.optimizer, model.parameters(), cfg.lr)
        return Variant(name, model, optimizer, mini_batch(cfg.batch_size), cfg.epochs, cfg.max_seconds,
                       checkpoint_every=cfg.checkpoint_every)  # fmt: skip

    def spike_counts(v: Variant) -> dict[str, float]:
        """The trained spiking network's activity on 2,000 test images (kept in the checkpoint)."""
        if v.name != "snn":
            return {}
        model = v.model
        assert isinstance(model, SpikingMLP)
        with torch.no_grad():
            x = data["test"][0][:2000]
            _, hidden_spikes, events = model.run(x)
        # synaptic operations per image: each input event reaches H synapses (direct encoding: one MAC per
        # input pixel per hidden unit, once, since the current is the same every step), each hidden spike 10
        input_ops = (784 * cfg.hidden) if cfg.encoding == "direct" else float(events.mean()) * cfg.hidden
        return {"snn/hidden_spikes_per_image": float(hidden_spikes.mean()),
                "snn/hidden_rate": float(hidden_spikes.mean()) / (cfg.hidden * cfg.steps),
                "snn/input_ops": float(input_ops), "snn/synops": float(hidden_spikes.mean()) * 10}  # fmt: skip

    metrics = run_variants(cfg.variants.split(","), build, data, cfg.eval_every, cfg.seed, run, stop, state,
                           spike_counts)  # fmt: skip
    metrics["ann/macs"] = float(784 * cfg.hidden + cfg.hidden * 10)
    return metrics


def figures(record: RunRecord) -> dict[str, Figure]:
    return {"learning_curves.png": variant_curves(record, str(record.config.get("variants", "snn,ann")).split(","))}


def comparison_table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    m, c = record.final(), record.config
    rows = []
    for name in str(c.get("variants", "snn,ann")).split(","):
        if f"{name}/test/accuracy" not in m:
            continue
        acc = f"{100 * m[f'{name}/test/accuracy']:.2f}"
        seconds = f"{m.get(f'{name}/train_seconds', 0):.0f}"
        epochs = f"{m.get(f'{name}/epochs', 0):.1f}"
        if name == "ann":
            rows.append(["ANN (ReLU)", acc, f"{m['ann/macs']:,.0f} MACs", "1", epochs, seconds])
        else:
            ops = (f"{m['snn/input_ops']:,.0f} {'MACs' if c.get('encoding') == 'direct' else 'input synops'} + "
                   f"{m['snn/synops']:,.0f} synops ({100 * m['snn/hidden_rate']:.1f}% of hidden neuron-steps spike)")  # fmt: skip
            rows.append([f"SNN (LIF, {c.get('encoding')})", acc, ops, str(c.get("steps")), epochs, seconds])
    return ["network", "test accuracy %", "operations per image", "time steps", "epochs", "train s"], rows


def claims(record: RunRecord) -> list[Claim]:
    m = record.final()
    if "snn/test/accuracy" not in m or "ann/test/accuracy" not in m:
        return []
    snn, ann = m["snn/test/accuracy"], m["ann/test/accuracy"]
    return [Claim(
        "Trained with surrogate gradients, the spiking network classifies about as well as the same-size ReLU "
        "network: its test accuracy is within 5 points",
        f"test accuracy: spiking {100 * snn:.2f}%, ReLU {100 * ann:.2f}%; "
        f"{m.get('snn/synops', math.nan):,.0f} synaptic operations per image after the input layer",
        [Bound("the ReLU network's test accuracy less the spiking network's", ann - snn, "<", 0.05 + 1e-12)],
    )]  # fmt: skip


def sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Spiking networks' from ``descentlab neuro train-snn`` runs: the SNN against the same-size ANN."""
    return [
        Section(
            id="snn",
            title="A spiking network and the same-size ReLU network on MNIST",
            caption=(
                f"784-{r.config.get('hidden')}-10, {r.config.get('steps')} time steps, {r.config.get('encoding')} "
                f"input, the {r.config.get('surrogate')} surrogate gradient; the ReLU network has the same shape, "
                "optimizer and data order. The table counts multiply-accumulates against synaptic operations."
            ),
            figures=[variant_curves(r, str(r.config.get("variants", "snn,ann")).split(","))],
            table=comparison_table(r),
            commands=[str(r.meta.get("command"))],
            claims=claims(r),
        )
        for r in runs
        if r.status == "complete"
    ]


def tour(settings: TourSettings) -> list[SNNConfig]:
    q = settings.quick
    return [SNNConfig(seed=settings.seed, device=settings.device, hidden=128 if q else 500, steps=10 if q else 25,
                      epochs=1 if q else 2, train_size=2000 if q else 10_000, eval_every=1000 if q else 5000,
                      lr=0.002 if q else 5e-4)]  # fmt: skip


NEURO_TRAIN_SNN = Experiment(
    check=check_mnist,
    command="neuro train-snn",
    help="a spiking network and the same-size ANN on MNIST: accuracy, operations, time steps",
    description=(
        "Train a 784-H-10 spiking network of LIF neurons on MNIST by backpropagation through time with\n"
        "surrogate gradients, then the same-size ReLU network with the same optimizer and data order;\n"
        "a table compares test accuracy, operations per image and time steps."
    ),
    examples=(
        "descentlab neuro train-snn",
        "descentlab neuro train-snn --encoding rate --steps 25 --epochs 3",
        "descentlab neuro train-snn --surrogate fast-sigmoid --optimizer rmsprop --lr 0.001",
    ),
    config=SNNConfig,
    train=train,
    figures=figures,
    table=comparison_table,
    sections=sections,
    tour=tour,
    headline=lambda r: claims(r)[0].evidence if claims(r) else "",
    data_parallel=True,
)
