"""The lab book's interactive figures: the library run over a grid of settings when the book is built.

A chapter places one with ``@interactive NAME`` (:data:`EXPLORERS`). Every path and curve is computed here by
descentlab's own optimizers, landscapes and networks, once per setting of the sliders, and embedded in the
page (:class:`descentlab.report.Explorer`); the page's script only draws them. The grids are small enough
that all four figures add well under 1 MB to the page.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from functools import cache

import torch
from torch.nn import functional as F

from descentlab.landscape import LANDSCAPES, Landscape
from descentlab.landscape.race import RACE_OPTIMIZERS, Trajectory, default_lr, descend, descend_together
from descentlab.optim import SGD, Adagrad, Adam, RMSProp
from descentlab.report import Explorer, Layer, Slider, Toggles
from descentlab.report.interactive import series_key
from descentlab.training.supervised import load_data, make_mlp

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
MOMENTUM_STEPS = 100
RACE_STEPS = 500
RACE_EVERY = 2  # the race's paths keep every second point (500 steps, 63 paths)
ADAPTIVE_STEPS = 500


def shade(landscape: Landscape, cells: int = 40) -> list[list[float]]:
    """log(1 + f - min f) on a grid over the landscape's window, scaled to [0, 1]: the shading under paths."""
    (x0, x1), (y0, y1) = landscape.window
    xs = torch.linspace(x0, x1, cells + 1, dtype=torch.float64)[:-1] + (x1 - x0) / cells / 2
    ys = torch.linspace(y0, y1, cells + 1, dtype=torch.float64)[:-1] + (y1 - y0) / cells / 2
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    f = landscape(gx, gy)
    f = torch.log1p(f - f.min())
    f = f / f.max()
    return [[float(v) for v in row] for row in f]


def curvatures(landscape: Landscape, at: tuple[float, float]) -> tuple[float, float]:
    """The Hessian's eigenvalues at ``at``, smallest first (autograd through the landscape)."""
    point = torch.tensor(at, dtype=torch.float64)
    hess = torch.autograd.functional.hessian(lambda p: landscape(p[0], p[1]), point)
    low, high = torch.linalg.eigvalsh(hess).tolist()
    return low, high


def _final(path: Trajectory) -> str:
    return "diverged" if path.diverged else f"{path.losses[-1]:.2g}"


def momentum_explorer() -> Explorer:
    """Step size and momentum on the ill-conditioned quadratic bowl, with the theory's best values."""
    bowl = LANDSCAPES["quadratic-bowl"]
    low, high = curvatures(bowl, (0.0, 0.0))
    kappa = high / low
    best_lr = (2 / (math.sqrt(low) + math.sqrt(high))) ** 2  # Polyak's heavy ball on a quadratic
    best_beta = ((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2
    lrs = tuple(best_lr * 2 ** (k / 2) for k in range(-8, 3))
    betas = (0.0, 0.2, 0.3, best_beta, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
    settings = [(lr, beta) for lr in lrs for beta in (0.0, *betas)]  # beta 0 first: plain gradient descent
    paths = descend_together(bowl, [bowl.start] * len(settings), lambda points: SGD(
        [{"params": [p], "lr": lr, "momentum": beta} for p, (lr, beta) in zip(points, settings, strict=True)]
    ), MOMENTUM_STEPS)  # fmt: skip
    found = dict(zip(settings, paths, strict=True))
    series, info = {}, {}
    for i, lr in enumerate(lrs):
        gd = found[lr, 0.0]
        series[series_key("gd", str(i))] = gd.points
        for j, beta in enumerate(betas):
            path = found[lr, beta]
            series[series_key("momentum", f"{i},{j}")] = path.points
            info[f"{i},{j}"] = (
                f"After {MOMENTUM_STEPS} steps f = {_final(path)} with momentum, {_final(gd)} without (f* = 0). "
                f"Curvatures {low:g} and {high:g}, condition number κ = {kappa:g}: the best step size is "
                f"α* = (2 / (√{low:g} + √{high:g}))² = {best_lr:.3g} with β* = ((√κ - 1) / (√κ + 1))² = "
                f"{best_beta:.3g}, shrinking the error by {math.sqrt(best_beta):.3g} a step, against "
                f"{(kappa - 1) / (kappa + 1):.3g} for the best plain step 2 / ({low:g} + {high:g})."
            )
    (x0, x1), (y0, y1) = bowl.window
    return Explorer(
        "interactive-momentum",
        "Explore: step size and momentum on an ill-conditioned bowl",
        f"f(x, y) = (x² + 25 y²) / 2 from {bowl.start}, {MOMENTUM_STEPS} steps of descentlab.optim.SGD with and "
        "without momentum, computed when this book was built for every setting of the sliders. Set α to α* and "
        "β to β*: the error shrinks fastest, by √β* a step along both axes. Past 2 / 25 plain steps diverge; "
        "momentum's only at larger steps.",
        (x0, x1), (y0, y1), "x", "y",
        [Slider("lr", "step size α", lrs, initial=7), Slider("beta", "momentum β", betas, initial=0)],
        [Layer("momentum", "SGD with momentum β", COLOURS[1], ("lr", "beta")),
         Layer("gd", "gradient descent (β = 0)", COLOURS[0], ("lr",), dashed=True)],
        series, info, shade(bowl), [(0.0, 0.0, "minimum")],
    )  # fmt: skip


RACE_STARTS = tuple((x, y) for y in (2.5, 1.0, -0.5) for x in (-1.5, -0.5, 1.5))


def _maker(name: str, lr: float) -> Callable[[list[torch.Tensor]], torch.optim.Optimizer]:
    return lambda points: RACE_OPTIMIZERS[name](points, lr)


def race_explorer() -> Explorer:
    """The race on Rosenbrock's valley from nine starts, each optimizer at its tuned rate."""
    rosen = LANDSCAPES["rosenbrock"]
    names = tuple(RACE_OPTIMIZERS)
    lrs = {name: default_lr("rosenbrock", name) for name in names}
    series: dict[str, list[tuple[float, float]]] = {}
    info: dict[str, str] = {}
    for name in names:  # one optimizer class at a time, from every start at once
        paths = descend_together(rosen, RACE_STARTS, _maker(name, lrs[name]), RACE_STEPS)
        for i, path in enumerate(paths):
            series[series_key(name, str(i))] = path.points[::RACE_EVERY] + path.points[-1:]
            info[str(i)] = info.get(str(i), "") + f", {name} {_final(path)}"
    for i, start in enumerate(RACE_STARTS):
        info[str(i)] = f"f after {RACE_STEPS} steps from {start} (f* = 0 at (1, 1)): " + info[str(i)][2:] + "."
    (x0, x1), (y0, y1) = rosen.window
    return Explorer(
        "interactive-race",
        "Explore: the race on Rosenbrock's valley, from any of nine starts",
        f"{RACE_STEPS} steps of each optimizer at its tuned learning rate (descentlab.landscape.race, the same "
        "rates as the race above), from the start chosen; every second point of each path is drawn. Tick the "
        "optimizers to compare; the line under the figure gives each one's final f.",
        (x0, x1), (y0, y1), "x", "y",
        [Slider("start", "start point", tuple(range(1, len(RACE_STARTS) + 1)), initial=6),
         Toggles("optimizers", "optimizers", names, ("sgd", "momentum", "adagrad", "adam"))],
        [Layer(name, name, COLOURS[k % len(COLOURS)], ("start",)) for k, name in enumerate(names)],
        series, info, shade(rosen), [(1.0, 1.0, "minimum")],
    )  # fmt: skip


def _step_lengths(points: list[tuple[float, float]]) -> float:
    """The median length of the last ten steps of a path."""
    last = points[-11:]
    lengths = sorted(math.dist(a, b) for a, b in itertools.pairwise(last))
    return lengths[len(lengths) // 2] if lengths else math.nan


def adaptive_explorer() -> Explorer:
    """Adagrad against RMSProp as RMSProp's decay changes, on Rosenbrock's valley."""
    rosen = LANDSCAPES["rosenbrock"]
    decays = (0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 0.995, 0.999)
    lr_ada, lr_rms = 0.5, 0.01  # each one's signature rate on this valley (descentlab.optim.by_name)
    ada = descend(rosen, lambda p: Adagrad(p, lr=lr_ada), rosen.start, ADAPTIVE_STEPS)
    everything = descend_together(rosen, [rosen.start] * len(decays), lambda points: RMSProp(
        [{"params": [p], "alpha": d} for p, d in zip(points, decays, strict=True)], lr=lr_rms), ADAPTIVE_STEPS)  # fmt: skip
    series = {series_key("adagrad", ""): ada.points}
    info = {}
    for i, (decay, rms) in enumerate(zip(decays, everything, strict=True)):
        series[series_key("rmsprop", str(i))] = rms.points
        info[str(i)] = (
            f"After {ADAPTIVE_STEPS} steps: Adagrad (lr {lr_ada}) f = {_final(ada)}, its last steps "
            f"{_step_lengths(ada.points):.2g} long; RMSProp (lr {lr_rms}, decay {decay}) f = {_final(rms)}, "
            f"its last steps {_step_lengths(rms.points):.2g} long."
        )
    (x0, x1), (y0, y1) = rosen.window
    return Explorer(
        "interactive-adaptive",
        "Explore: Adagrad's growing sum against RMSProp's decaying average",
        f"{ADAPTIVE_STEPS} steps from {rosen.start}. Adagrad divides by the root of the sum of every squared "
        "gradient so far, so its steps only shrink; RMSProp divides by a moving average that forgets at the "
        "rate 1 - decay, so its steps stay about its learning rate. A decay near 1 starts its average near 0 "
        "and makes its first steps long.",
        (x0, x1), (y0, y1), "x", "y",
        [Slider("decay", "RMSProp's decay", decays, initial=5)],
        [Layer("adagrad", "Adagrad", COLOURS[2]), Layer("rmsprop", "RMSProp", COLOURS[4], ("decay",))],
        series, info, shade(rosen), [(1.0, 1.0, "minimum"), (*rosen.start, "start")],
    )  # fmt: skip


DROPOUT_KEEPS = (0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 1.0)
DROPOUT_TRAIN, DROPOUT_VAL, DROPOUT_EPOCHS, DROPOUT_BATCH, DROPOUT_WIDTH = 1000, 2000, 15, 100, 128


@cache
def _dropout_data() -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    data = load_data(DROPOUT_VAL, DROPOUT_TRAIN, torch.device("cpu"))
    return data["train"], data["val"]


@cache
def dropout_curves(keep: float, seed: int = 0) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Training and validation loss after each epoch of a 784-128-128-10 network trained with Adam on 1,000
    MNIST images, keeping hidden units with probability ``keep``; the same initial weights and batch order
    for every ``keep``. Both losses are measured without dropout. Once per process and setting: the figure and
    the notebook's slider share them."""
    (x, y), (xv, yv) = _dropout_data()
    torch.manual_seed(seed)
    model = make_mlp([DROPOUT_WIDTH, DROPOUT_WIDTH], keep_hidden=keep)
    opt = Adam(model.parameters(), lr=1e-3)
    order = torch.Generator().manual_seed(seed)
    train, val = [], []
    for _ in range(DROPOUT_EPOCHS):
        model.train()
        for batch in torch.randperm(len(x), generator=order).split(DROPOUT_BATCH):
            opt.zero_grad()
            F.cross_entropy(model(x[batch]), y[batch]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            train.append(float(F.cross_entropy(model(x), y)))
            val.append(float(F.cross_entropy(model(xv), yv)))
    return tuple(train), tuple(val)


def dropout_explorer() -> Explorer:
    """The keep probability against the generalization gap, from real training runs."""
    curves = {keep: dropout_curves(keep) for keep in DROPOUT_KEEPS}
    series, info = {}, {}
    top = max(max(v) for _, v in curves.values())
    plain_gap = curves[1.0][1][-1] - curves[1.0][0][-1]
    for i, keep in enumerate(DROPOUT_KEEPS):
        train, val = curves[keep]
        series[series_key("train", str(i))] = [(e + 1.0, v) for e, v in enumerate(train)]
        series[series_key("val", str(i))] = [(e + 1.0, v) for e, v in enumerate(val)]
        info[str(i)] = (
            f"Keep {keep}: after {DROPOUT_EPOCHS} epochs the gap (validation loss - training loss) is "
            f"{val[-1] - train[-1]:.3f} (without dropout: {plain_gap:.3f}); lowest validation loss "
            f"{min(val):.3f}, at epoch {val.index(min(val)) + 1}."
        )
    plain = curves[1.0][1]
    series[series_key("plain", "")] = [(e + 1.0, v) for e, v in enumerate(plain)]
    return Explorer(
        "interactive-dropout",
        "Explore: the keep probability against the generalization gap",
        f"Seven real training runs made when this book was built: a 784-{DROPOUT_WIDTH}-{DROPOUT_WIDTH}-10 ReLU network, Adam at "
        f"lr 0.001, {DROPOUT_TRAIN:,} MNIST training images in batches of {DROPOUT_BATCH}, {DROPOUT_EPOCHS} "
        f"epochs, hidden units kept with the probability chosen (inputs always kept); the same initial weights "
        f"and batch order in every run. Losses are measured without dropout, on the training images and on "
        f"{DROPOUT_VAL:,} validation images.",
        (0.0, float(DROPOUT_EPOCHS)), (0.0, top * 1.05), "epoch", "cross-entropy loss",
        [Slider("keep", "keep probability p", DROPOUT_KEEPS, initial=2)],
        [Layer("train", "training loss", COLOURS[0], ("keep",)), Layer("val", "validation loss", COLOURS[1], ("keep",)),
         Layer("plain", "validation, no dropout", "#777", dashed=True)],
        series, info,
    )  # fmt: skip


EXPLORERS: dict[str, Callable[[], Explorer]] = {
    "momentum": momentum_explorer,
    "race": race_explorer,
    "adaptive": adaptive_explorer,
    "dropout": dropout_explorer,
}


@cache
def explorer(name: str) -> Explorer:
    """The interactive figure ``name``, computed once per process."""
    if name not in EXPLORERS:
        raise KeyError(f"a chapter names the interactive figure {name!r}; valid: {', '.join(EXPLORERS)}")
    return EXPLORERS[name]()


@cache
def explorer_html(name: str) -> str:
    """The figure ``@interactive NAME`` places."""
    return explorer(name).html()
