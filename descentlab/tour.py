"""``descentlab tour``: a short run of every experiment that exists, then one report of them all."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from descentlab.config import RunConfig, param
from descentlab.experiments import (
    GENERALIZE_MNIST,
    LM_TRAIN,
    MINIMA,
    NEURO_PATTERNS,
    NEURO_PLASTICITY,
    NEURO_TRAIN_SNN,
    OPTIM_RACE,
    OPTIM_TRAIN,
    PLATEAU,
    RL_TRAIN,
    RNN_GRADIENT_FLOW,
    SADDLE,
    STEEP,
    STN_TRAIN,
    Experiment,
    start,
)
from descentlab.experiments.curvature import analyze
from descentlab.experiments.generalization import GeneralizeConfig
from descentlab.experiments.lm_train import LMConfig
from descentlab.experiments.loss_surface import analyze_surface
from descentlab.experiments.many_starts import MinimaConfig
from descentlab.experiments.neuro_runs import PatternsConfig, PlasticityConfig
from descentlab.experiments.optim_race import RaceConfig
from descentlab.experiments.optim_train import TrainConfig
from descentlab.experiments.pathologies import PlateauConfig, SteepConfig
from descentlab.experiments.rl_train import GRID, RLConfig
from descentlab.experiments.rnn_tasks import GradientFlowConfig
from descentlab.experiments.saddle_escape import SaddleConfig
from descentlab.experiments.snn_train import SNNConfig
from descentlab.experiments.stn_train import StnConfig
from descentlab.optim.regimes import FULL_BATCH, STOCHASTIC, UNIT_OPTIMIZERS
from descentlab.report import build_report
from descentlab.runs import list_table, load_run


@dataclass(frozen=True)
class TourConfig(RunConfig):
    """Settings of ``descentlab tour``."""

    quick: bool = param(False, "a sub-minute version on a 2,000-image subset")


def unit_configs(base: TrainConfig) -> list[TrainConfig]:
    """The unit's eight optimizers (``descentlab.optim.UNIT_OPTIMIZERS``) as ``optim train`` configs."""
    regimes = {FULL_BATCH.name: "full-batch", STOCHASTIC.name: "stochastic"}
    configs = []
    for unit in UNIT_OPTIMIZERS:
        factory = unit.optimizer
        assert isinstance(factory, partial)  # the list pairs each class with a starting lr
        regime = regimes.get(unit.regime.name, "mini-batch")
        batch = unit.regime.batch_size if regime == "mini-batch" and unit.regime.batch_size else base.batch_size
        name = factory.func.__name__.lower()
        config = replace(base, optimizer=name, lr=factory.keywords["lr"], regime=regime, batch_size=batch)
        steps_per_epoch = config.data_regime().steps_per_epoch(config.train_size)
        configs.append(replace(config, eval_every=max(1, steps_per_epoch // 8)))  # about 8 points an epoch
    return configs


def plan(cfg: TourConfig) -> list[tuple[Experiment, Any]]:
    """The runs of the tour, in order. Each later module adds its experiments here."""
    if cfg.quick:
        base = TrainConfig(seed=cfg.seed, device=cfg.device, epochs=2, train_size=2000, log_every=25)
    else:
        base = TrainConfig(seed=cfg.seed, device=cfg.device, epochs=4, train_size=10_000, log_every=50)
    q = cfg.quick
    race = RaceConfig(seed=cfg.seed, device=cfg.device, landscape="rosenbrock", steps=200 if q else 500)
    saddle = SaddleConfig(seed=cfg.seed, device=cfg.device)
    minima = MinimaConfig(seed=cfg.seed, device=cfg.device, starts=200 if q else 500, steps=1000 if q else 2000)
    plateau = PlateauConfig(seed=cfg.seed, device=cfg.device, radii="3,4" if q else "3,4,5")
    steep = SteepConfig(seed=cfg.seed, device=cfg.device, steps=1500 if q else 5000)
    landscapes = [(OPTIM_RACE, race), (SADDLE, saddle), (MINIMA, minima), (PLATEAU, plateau), (STEEP, steep)]
    dropout = GeneralizeConfig(
        seed=cfg.seed, device=cfg.device, hidden="256,256" if q else "1024,1024", train_size=3000 if q else 10_000,
        epochs=3 if q else 5, eval_every=1000 if q else 2500,
    )  # fmt: skip
    stn = StnConfig(
        seed=cfg.seed, device=cfg.device, distortion="r", train_size=2000 if q else 10_000, epochs=1 if q else 3,
        eval_every=1000 if q else 2500,
    )  # fmt: skip
    flow = GradientFlowConfig(seed=cfg.seed, device=cfg.device, length=50 if q else 100, steps=60 if q else 300)
    lm = LMConfig(
        seed=cfg.seed, device=cfg.device, emsize=64 if q else 200, hidden=64 if q else 200, tied=True, epochs=1,
        train_tokens=40_000 if q else 300_000, log_every=20 if q else 100, lr=20.0,
    )  # fmt: skip
    route = RLConfig(
        seed=cfg.seed, device=cfg.device, env=GRID, algo="qlearning", route="fixed", grid_size=8 if q else 10,
        total_steps=8000 if q else 30_000, eval_episodes=5, final_episodes=20,
    )  # fmt: skip
    cartpole = RLConfig(seed=cfg.seed, device=cfg.device, env="CartPole-v1", algo="ppo",
                        total_steps=12_000 if q else 50_000, final_episodes=20 if q else 100)  # fmt: skip
    snn = SNNConfig(
        seed=cfg.seed, device=cfg.device, hidden=128 if q else 500, steps=10 if q else 25, epochs=1 if q else 2,
        train_size=2000 if q else 10_000, eval_every=1000 if q else 5000, lr=0.002 if q else 5e-4,
    )  # fmt: skip
    neuro = [(NEURO_PATTERNS, PatternsConfig(seed=cfg.seed, device=cfg.device)), (NEURO_TRAIN_SNN, snn),
             (NEURO_PLASTICITY, PlasticityConfig(seed=cfg.seed, device=cfg.device, seconds=30 if q else 60))]  # fmt: skip
    later = [(GENERALIZE_MNIST, dropout), (STN_TRAIN, stn), (RNN_GRADIENT_FLOW, flow), (LM_TRAIN, lm),
             (RL_TRAIN, route), (RL_TRAIN, cartpole), *neuro]  # fmt: skip
    return [*landscapes, *[(OPTIM_TRAIN, config) for config in unit_configs(base)], *later]


def run_tour(cfg: TourConfig, out: str | Path, log: Any = print) -> Path:
    """Run the tour's plan under ``out/tour`` and write ``out/tour/report.html``; returns its path."""
    root = Path(out) / "tour"
    started = time.time()
    paths = []
    jobs = plan(cfg)
    for i, (exp, config) in enumerate(jobs, 1):
        t0 = time.time()
        paths.append(start(exp, config, root))
        log(f"[{i}/{len(jobs)}] {exp.command} ({config.run_name}) done in {time.time() - t0:.1f} s: {paths[-1]}")
    trained = {load_run(p).config.get("optimizer"): p for p in paths if p.parent.name == "optim-train"}
    adam, momentum = trained["adam"], trained["momentum"]
    t0 = time.time()
    analyze(adam, examples=500 if cfg.quick else 1000, samples=10 if cfg.quick else 30, seed=cfg.seed)
    log(f"descentlab landscape hessian {adam} done in {time.time() - t0:.1f} s")
    t0 = time.time()
    analyze_surface(adam, momentum, examples=500 if cfg.quick else 1000, grid=9 if cfg.quick else 17, seed=cfg.seed)
    log(f"descentlab landscape surface {adam} --other {momentum} done in {time.time() - t0:.1f} s")
    report = build_report(paths, root / "report.html", title="descentlab tour")
    log(list_table([load_run(p) for p in paths]))
    log(f"tour finished in {time.time() - started:.1f} s; report: {report}")
    return report
