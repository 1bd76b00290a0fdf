"""``descentlab lm train``: a word-level recurrent language model, PyTorch's ``word_language_model`` recipe.

Defaults are that example's: 2 layers of 200 LSTM units, embedding 200, dropout 0.2, plain SGD at
learning rate 20 divided by 4 whenever the validation loss fails to improve, gradients clipped to norm
0.25, 20 parallel streams, truncated BPTT over 35 steps, validation and test evaluated with 10 streams.
Any optimizer of :mod:`descentlab.optim` can replace SGD (``--optimizer adam --lr 1e-3``), and a fixed
decay (``--decay 0.5 --decay-after 4``, Zaremba et al. 2014) can shrink the rate each epoch as well.

After each epoch the validation perplexity is logged; the weights with the best one are kept in
``model.pt`` (with the vocabulary), which ``descentlab lm eval`` and ``descentlab lm generate`` read.
The test split is evaluated once, at the end, with those weights.

The config, the corpus, the model, evaluation and the saved model are in :mod:`descentlab.experiments.lm.common`.
Read top to bottom: the run, figures and tables.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from descentlab.errors import Interrupted, UserError
from descentlab.experiments.declaration import Experiment, TourSettings
from descentlab.experiments.lm.common import LMConfig, build_model, evaluate, load, load_model, perplexity, save_model
from descentlab.lm.corpus import EOS, batchify, chunks
from descentlab.lm.model import detach, generate
from descentlab.optim.by_name import optimizer_by_name
from descentlab.report import Bound, Claim, Section
from descentlab.runs import (
    Run,
    RunRecord,
    StopFlag,
    distributed,
    rng_state,
    seed_everything,
    select_device,
    set_rng_state,
)
from descentlab.runs.resources import require_memory
from descentlab.training.control import StepControl

# Test perplexity on Penn Treebank reported in PyTorch's example (README of 2017) and in papers.
PUBLISHED = {
    "PyTorch example, 2x200, 6 epochs": 117.61, "PyTorch example, 2x200 tied, 6 epochs": 110.44,
    "PyTorch example, 2x650 tied, dropout 0.5, 40 epochs": 75.96, "Zaremba et al. 2014, medium": 82.7,
    "Zaremba et al. 2014, large": 78.4, "AWD-LSTM (Merity et al. 2018)": 57.3,
}  # fmt: skip


def memory_needed(cfg: LMConfig, vocab_size: int) -> float:
    """Bytes a training run needs, roughly: the weights with their gradients and two optimizer states, and the
    activations of one chunk (each layer's gates and states, the logits and their softmax, kept for BPTT)."""
    gates = {"lstm": 4, "gru": 3}.get(cfg.cell, 1)
    recurrent = sum(
        gates * cfg.hidden * ((cfg.emsize if i == 0 else cfg.hidden) + cfg.hidden + 2) for i in range(cfg.layers)
    )
    weights = vocab_size * cfg.emsize + recurrent + (0 if cfg.tied else vocab_size * cfg.hidden) + vocab_size
    chunk = max(cfg.batch_size, cfg.eval_batch_size) * cfg.bptt
    activations = chunk * (cfg.layers * cfg.hidden * (2 * gates + 4) + 3 * vocab_size + cfg.emsize)
    return 4.0 * (4 * weights + activations)


def check(cfg: LMConfig) -> None:
    """The corpus loads (a file, a folder or the Penn Treebank) and the model and a chunk fit in memory."""
    corpus = load(cfg)
    require_memory(memory_needed(cfg, len(corpus.vocab)), f"lm train with a vocabulary of {len(corpus.vocab):,}, "
                   f"emsize {cfg.emsize}, hidden {cfg.hidden}, {cfg.layers} layers and chunks of {cfg.batch_size} x "
                   f"{cfg.bptt} words")  # fmt: skip


def make_optimizer(cfg: LMConfig, params: Any) -> torch.optim.Optimizer:
    return optimizer_by_name(cfg.optimizer, params, cfg.lr, cfg.momentum)


def unigram_perplexity(train_ids: torch.Tensor, ids: torch.Tensor, vocab_size: int) -> float:
    """The perplexity on ``ids`` of a model that knows only how often each word occurs in ``train_ids``
    (add-one smoothed): the baseline a language model must beat to have learned anything of context."""
    counts = torch.bincount(train_ids, minlength=vocab_size).double()
    log_p = ((counts + 1) / (counts.sum() + vocab_size)).log()
    return math.exp(-float(log_p[ids].mean()))


# ---- the run ----------------------------------------------------------------------------------


def train(cfg: LMConfig, run: Run, stop: StopFlag, state: dict[str, Any] | None = None) -> dict[str, float]:
    """Train with truncated BPTT over ``batch_size`` parallel streams. Under torchrun each rank carries its share
    of the streams (``descentlab.runs.distributed``); checkpoints hold every stream's state, as one process's do."""
    world = distributed.current()
    device = distributed.device_for(select_device(cfg.device), world)
    control = StepControl(stop, world, device, cfg.checkpoint_every, cfg.max_seconds)
    seed_everything(cfg.seed)
    corpus = load(cfg)
    train_ids = corpus.train[: cfg.train_tokens] if cfg.train_tokens else corpus.train
    streams = distributed.shard(torch.arange(cfg.batch_size), world)  # this rank's columns of the batch
    data = batchify(train_ids, cfg.batch_size)[:, streams].to(device)
    share = len(streams) / cfg.batch_size
    val = batchify(corpus.valid, cfg.eval_batch_size).to(device)
    model = build_model(cfg, len(corpus.vocab)).to(device)
    net = distributed.wrap(model, world)
    optimizer = make_optimizer(cfg, model.parameters())
    if world.rank:  # each rank draws the dropout masks of its own streams (torch's dropout and LSTM draw for the
        # batch they are given), from a generator of its own: seeded alike, they would repeat rank 0's masks
        torch.manual_seed(distributed.rank_seed(cfg.seed, world))
    tokens_per_epoch = (len(data) - 1) * cfg.batch_size
    epoch, row, step, seconds, tokens, best = 0, 0, 0, 0.0, 0, math.inf
    loss_sum, loss_count = 0.0, 0  # the running training loss between records
    hidden = model.init_state(len(streams))
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        epoch, row, step, seconds, tokens, best = (state[k] for k in ("epoch", "row", "step", "seconds", "tokens",
                                                                      "best"))  # fmt: skip
        ranks_rng = state.get("ranks_rng", [state["rng"]])  # every rank's generator (one process: its own)
        if len(ranks_rng) == world.size:
            set_rng_state(ranks_rng[world.rank])
        else:  # resumed on another number of ranks: rank 0 goes on from the saved state, the others from new seeds
            set_rng_state(state["rng"])
            if world.rank:
                torch.manual_seed(distributed.rank_seed(cfg.seed + step, world))
        loss_sum, loss_count = state["loss_sum"], state["loss_count"]
        saved = [h[:, streams].to(device) for h in state["hidden"]]  # (layers, batch, hidden): this rank's streams
        hidden = tuple(saved) if cfg.cell == "lstm" else saved[0]

    def checkpoint() -> Path:
        mine = list(hidden) if isinstance(hidden, tuple) else [hidden]
        hs = distributed.gather_columns(mine, world)  # every rank's streams, in order
        return run.save_checkpoint({
            "model": model.state_dict(), "optimizer": optimizer.state_dict(), "rng": rng_state(), "epoch": epoch,
            "row": row, "step": step, "seconds": seconds, "tokens": tokens, "best": best, "hidden": hs,
            "loss_sum": loss_sum, "loss_count": loss_count,
            **({"ranks_rng": distributed.gather(rng_state(), world)} if world.distributed else {}),
        })  # fmt: skip

    out_of_time = False
    while epoch < cfg.epochs and not out_of_time:
        model.train()
        epoch_start = seconds
        for i, x, y in chunks(data, cfg.bptt, row):
            started = time.perf_counter()
            hidden = detach(hidden)  # truncated BPTT: gradients stop at the chunk's start
            logits, hidden = net(x, hidden)
            loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
            optimizer.zero_grad(set_to_none=True)
            (loss * distributed.loss_scale(len(streams), cfg.batch_size, world)).backward()  # DDP's average: the mean
            if cfg.clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            optimizer.step()
            seconds += time.perf_counter() - started
            agreed = control.after_step(step + 1, loss.item() * share, seconds)
            loss_sum, loss_count = loss_sum + agreed.loss, loss_count + 1
            tokens, step, row = tokens + len(y) * cfg.batch_size, step + 1, i + cfg.bptt
            if step % cfg.log_every == 0:
                mean = loss_sum / loss_count
                run.log(step, {"train/loss": mean, "train/perplexity": perplexity(mean),
                               "lr": optimizer.param_groups[0]["lr"], "epoch": epoch + (i + 1) / len(data)})  # fmt: skip
                run.log_timing(step, seconds)
                loss_sum, loss_count = 0.0, 0
            if agreed.stop:
                raise Interrupted(str(checkpoint()))
            if agreed.checkpoint:
                checkpoint()
            if agreed.out_of_time:
                out_of_time = True
                break
        val_loss = distributed.broadcast(evaluate(model, val, cfg.bptt) if world.main else None, world)
        epoch_seconds = seconds - epoch_start
        epoch, row, loss_sum, loss_count = epoch + 1, 0, 0.0, 0
        hidden = model.init_state(len(streams))
        run.log(step, {"val/loss": val_loss, "val/perplexity": perplexity(val_loss), "epoch": float(epoch),
                       "lr": optimizer.param_groups[0]["lr"]})  # fmt: skip
        run.log_timing(step, seconds)
        if world.main:
            print(f"epoch {epoch}: valid perplexity {perplexity(val_loss):.2f}, {epoch_seconds:.0f} s", flush=True)
        if val_loss < best:
            best = val_loss
            if world.main:
                save_model(run.path, model, corpus.vocab)
        else:
            for group in optimizer.param_groups:  # validation stopped improving: a smaller step
                group["lr"] /= cfg.anneal
        if cfg.decay < 1 and epoch >= cfg.decay_after:
            for group in optimizer.param_groups:  # a fixed decay schedule (Zaremba et al. 2014)
                group["lr"] *= cfg.decay
    if not world.main:
        return {}
    model = load_model(run.path, device)[0]
    test_loss = evaluate(model, batchify(corpus.test, cfg.eval_batch_size).to(device), cfg.bptt)
    return {
        "val/loss": best, "val/perplexity": perplexity(best), "test/loss": test_loss,
        "test/perplexity": perplexity(test_loss), "epochs": tokens / tokens_per_epoch, "train_seconds": seconds,
        "tokens_per_second": tokens / seconds if seconds else 0.0,
        "seconds_per_epoch": seconds * tokens_per_epoch / tokens if tokens else 0.0,
        "parameters": float(sum(p.numel() for p in model.parameters())), "vocab": float(len(corpus.vocab)),
        "val/unigram_perplexity": unigram_perplexity(train_ids, corpus.valid, len(corpus.vocab)),
    }  # fmt: skip


# ---- figures and tables -----------------------------------------------------------------------


def lm_curves(record: RunRecord) -> Figure:
    """Training perplexity (running mean between records) and validation perplexity after each epoch,
    against epochs, with the learning rate underneath."""
    fig, (ax, ax_lr) = plt.subplots(2, 1, figsize=(8, 5.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    train = [(r["epoch"], r["train/perplexity"]) for r in record.metrics if "train/perplexity" in r]
    val = [(r["epoch"], r["val/perplexity"]) for r in record.metrics if "val/perplexity" in r]
    lr = [(r["epoch"], r["lr"]) for r in record.metrics if "lr" in r]
    if train:
        ax.plot(*zip(*train, strict=True), label="training (dropout on)")
    if val:
        ax.plot(*zip(*val, strict=True), "o-", label="validation")
    ax.set(ylabel="perplexity", yscale="log", title=f"{record.path.name}: word-level language model")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    if lr:
        ax_lr.step(*zip(*lr, strict=True), where="post")
    ax_lr.set(xlabel="epoch", ylabel="learning rate", yscale="log")
    ax_lr.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def lstm_gates(words: Sequence[str], gates: Any, units: int = 24) -> Figure:
    """The first layer's input, forget and output gates (and the candidate) while the LSTM reads a
    sentence: one heat map per gate, words down, the first ``units`` hidden units across."""
    names = ("input", "forget", "cell", "output")
    fig, axes = plt.subplots(1, 4, figsize=(14, 0.32 * len(words) + 1.6), sharey=True)
    for ax, name in zip(axes, names, strict=True):
        values = getattr(gates, name)[:, 0, :units].detach().cpu().numpy()  # (T, units)
        low, cmap = (-1.0, "RdBu_r") if name == "cell" else (0.0, "viridis")
        im = ax.imshow(values, aspect="auto", vmin=low, vmax=1.0, cmap=cmap)
        ax.set(title=f"{name} gate" if name != "cell" else "candidate g (tanh)", xlabel="hidden unit")
        ax.set_yticks(range(len(words)), list(words), fontsize=8)
        fig.colorbar(im, ax=ax, fraction=0.046)
    fig.suptitle("LSTM gates (layer 1) while reading a validation sentence, one row per word")
    fig.tight_layout()
    return fig


def figures(record: RunRecord) -> dict[str, Figure]:
    return {"perplexity.png": lm_curves(record)}


def result_table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    m = record.final()
    cfg = record.config
    name = f"{cfg['layers']}x{cfg['hidden']} {cfg['cell']}" + (" tied" if cfg["tied"] else "")
    rows = [[name, f"{m.get('epochs', 0):.2f}", f"{m.get('val/perplexity', math.nan):.2f}",
             f"{m.get('test/perplexity', math.nan):.2f}", f"{m.get('tokens_per_second', 0):,.0f}",
             f"{m.get('train_seconds', 0):.0f}"]]  # fmt: skip
    return ["model", "epochs", "valid ppl", "test ppl", "tokens/s", "train s"], rows


def sample_text(run_dir: str | Path, words: int = 30, temperature: float = 0.8, top_k: int = 40, seed: int = 0) -> str:
    """A sample of the run's best model from the start of a sentence (``<eos>`` shown as a line break)."""
    model, vocab, _ = load_model(run_dir)
    ids = generate(model, vocab.encode([EOS]), words, temperature, top_k, torch.Generator().manual_seed(seed))
    return " ".join(vocab.decode(ids)).replace(f" {EOS} ", "\n").replace(EOS, "").strip()


def gate_example(run_dir: str | Path, max_words: int = 16) -> tuple[list[str], Any]:
    """The first validation sentence of up to ``max_words`` words, and the first layer's LSTM gates on it."""
    model, vocab, cfg = load_model(run_dir)
    if not hasattr(model.rnn, "forward_with_gates"):
        raise UserError(f"{run_dir}: gates are recorded by descentlab's LSTM (cell lstm, impl other than torch)")
    tokens = load(cfg).valid[: 10 * max_words].tolist()
    end = next((i for i, t in enumerate(tokens) if vocab.itos[t] == EOS and i > 3), len(tokens))
    ids = torch.tensor(tokens[: min(end, max_words)]).view(-1, 1)
    with torch.no_grad():
        _, _, gates = model.rnn.forward_with_gates(  # type: ignore[operator]
            model.encoder(ids), model.init_state(1)
        )
    return vocab.decode(ids.flatten()), gates[0]


def claims(record: RunRecord) -> list[Claim]:
    m = record.final()
    if "val/unigram_perplexity" not in m:
        return []
    ppl, unigram, vocab = m["val/perplexity"], m["val/unigram_perplexity"], m.get("vocab", math.nan)
    return [Claim(
        "The model has learned from context: its validation perplexity is below that of a unigram model, which "
        f"knows only how often each word occurs (and far below the {vocab:,.0f} of a uniform guess)",
        f"validation perplexity {ppl:.1f}; unigram model {unigram:.1f}",
        [Bound("the validation perplexity", ppl, "<", unigram)],
    )]  # fmt: skip


def sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Word-level language model' from ``descentlab lm train`` runs: perplexity, the LSTM's gates on a
    sentence and a generated sample."""
    out = []
    for r in [r for r in runs if r.status == "complete" and (r.path / "model.pt").is_file()]:
        figs = [lm_curves(r)]
        if r.config.get("cell") == "lstm" and r.config.get("impl") != "torch":
            figs.append(lstm_gates(*gate_example(r.path)))
        c = r.config
        tokens = f"the first {c['train_tokens']:,} training words" if c.get("train_tokens") else "the training set"
        out.append(
            Section(
                id="lm",
                title=f"A {c['layers']}-layer {c['cell'].upper()} language model on Penn Treebank",
                caption=(
                    f"Embedding {c['emsize']}, {c['hidden']} units a layer"
                    + (", decoder tied to the embedding" if c.get("tied") else "")
                    + f"; {c['epochs']} epoch(s) over {tokens}, {c['optimizer']} at {c['lr']:g}. The gates shown are "
                    f"the first layer's while it reads a validation sentence. A sample of the model (temperature 0.8, "
                    f"the 40 likeliest words): {sample_text(r.path)}"
                ),
                figures=figs,
                table=result_table(r),
                commands=[str(r.meta.get("command")), f"descentlab lm generate {r.path} --temperature 0.8 --top-k 40"],
                claims=claims(r),
            )
        )
    return out


def tour(settings: TourSettings) -> list[LMConfig]:
    q = settings.quick
    # quick: two passes over the 60,000 words on torch's fused kernel (one pass left the model about 1.2 times
    # below the unigram model's perplexity; two take about as long as one pass of the written-out layer)
    return [LMConfig(seed=settings.seed, device=settings.device, emsize=64 if q else 200, hidden=64 if q else 200,
                     tied=True, epochs=2 if q else 1, train_tokens=60_000 if q else 300_000, batch_size=5 if q else 20,
                     log_every=20 if q else 100, lr=20.0, impl="fused" if q else "bptt")]  # fmt: skip


LM_TRAIN = Experiment(
    check=check,
    data_parallel=True,
    command="lm train",
    help="train a language model (PyTorch's word_language_model recipe by default)",
    description=(
        "Penn Treebank by default (929k training words, 10k vocabulary), or --corpus FILE (its lines\n"
        "split 90/5/5) or --corpus FOLDER (train.txt, valid.txt, test.txt). Keeps the weights with the\n"
        "best validation perplexity in model.pt, prints validation and test perplexity and writes\n"
        "perplexity.png. --impl chooses the recurrent layer: ours written out (loop, bptt),\n"
        "ours on PyTorch's fused kernel (fused), or torch.nn.LSTM itself (torch)."
    ),
    examples=(
        "descentlab lm train --tied",
        "descentlab lm train --emsize 650 --hidden 650 --dropout 0.5 --tied --epochs 40 --impl fused",
        "descentlab lm train --optimizer adam --lr 0.002 --clip 1",
    ),
    config=LMConfig,
    train=train,
    figures=figures,
    table=result_table,
    sections=sections,
    tour=tour,
    headline=lambda r: (
        claims(r)[0].evidence if claims(r) else f"validation perplexity {r.final()['val/perplexity']:.1f}"
    ),
)
