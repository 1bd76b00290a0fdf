"""Data-parallel training under ``torchrun``: which process this is, its share of each batch, and agreement.

``torchrun --nproc-per-node N -m descentlab optim train ...`` starts N copies of the same command, each with
``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE`` and the rendezvous address in its environment (on several machines,
``--nnodes`` and ``--rdzv-endpoint`` make one group of them). :func:`init` joins the group (gloo on a CPU, NCCL
on a GPU); an experiment that trains data-parallel then

* wraps its model in :class:`~torch.nn.parallel.DistributedDataParallel`, which averages the gradients of the
  ranks in backward, so that every rank takes the same optimizer step and the weights stay equal;
* gives each rank its :func:`shard` of each global batch (the global batch is the one the config names, drawn
  from the seed as in one process, so the data order does not depend on N), and scales its loss by
  :func:`loss_scale` so that the average DDP forms is the global batch's mean gradient, whatever the shards'
  sizes;
* writes nothing but from rank 0 (metrics, TensorBoard, figures, checkpoints): the other ranks get a
  :class:`Silent` run, and the checkpoint state rank 0 read is sent to them (:func:`broadcast`);
* stops on every rank at the same step: a stop signal (SIGTERM from a scheduler) reaches the ranks at
  different moments, and a rank that stopped alone would leave the others waiting in their next gradient
  exchange, so the ranks sum their stop requests each step (:func:`all_sum`, with the batch's loss).

A restarted group (``torchrun --max-restarts K`` after a worker died) runs the same command again: rank 0
finds the run the group had started (:func:`restart_record`, a file named by torchrun's run id) and resumes it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from descentlab.errors import UserError


@dataclass(frozen=True)
class World:
    """This process's place in the group: rank, number of processes, rank on its machine."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Rank 0: the process that writes the run folder."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise UserError(f"{name}={value!r} in the environment is not an integer (torchrun sets it)") from None


def from_environment() -> World:
    """The world torchrun describes in the environment; one process when it does not."""
    size = _int_env("WORLD_SIZE", 1)
    rank = _int_env("RANK", 0)
    if size < 1 or not 0 <= rank < size:
        raise UserError(f"RANK={rank}, WORLD_SIZE={size} in the environment: valid, 0 <= RANK < WORLD_SIZE")
    return World(rank, size, _int_env("LOCAL_RANK", 0))


def current() -> World:
    """The group this process has joined (:func:`init`), or one process."""
    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size(), _int_env("LOCAL_RANK", 0))
    return World()


def init(device: torch.device) -> World:
    """Join the group torchrun started (once per process): gloo for a CPU, NCCL for CUDA, each rank on the GPU
    of its local rank. One process (no torchrun): nothing to join."""
    world = from_environment()
    if not world.distributed or dist.is_initialized():
        return current() if world.distributed else world
    if device.type == "cuda":
        torch.cuda.set_device(world.local_rank % torch.cuda.device_count())
    backend = "nccl" if device.type == "cuda" else "gloo"
    if os.environ.get("TORCHELASTIC_USE_AGENT_STORE", "").lower() == "true":
        # torchrun's agent keeps the store the ranks meet in across restarts, with the previous attempt's
        # addresses in it under the same keys (pytorch/pytorch#135712: the restarted group connects to dead
        # ports); each attempt's keys go under a prefix of their own
        store = dist.TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), world.size, is_master=False)
        attempt = dist.PrefixStore(f"descentlab/attempt-{_int_env('TORCHELASTIC_RESTART_COUNT', 0)}", store)
        dist.init_process_group(backend, store=attempt, rank=world.rank, world_size=world.size)
    else:
        dist.init_process_group(backend)
    return current()


def device_for(device: torch.device, world: World) -> torch.device:
    """A CUDA device means this rank's GPU (its local rank); a CPU is shared."""
    if device.type == "cuda" and world.distributed:
        return torch.device("cuda", world.local_rank % torch.cuda.device_count())
    return device


def shard_rows(n: int, world: World) -> range:
    """This rank's consecutive share of the rows ``0..n-1`` of a global batch: sizes differ by at most one, in
    rank order (the first ``n % N`` ranks take one more; a rank gets none when the batch is smaller than the
    group), as :func:`torch.tensor_split` splits."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    base, extra = divmod(n, world.size)
    start = world.rank * base + min(world.rank, extra)
    return range(start, start + base + (world.rank < extra))


def shard(indices: torch.Tensor, world: World) -> torch.Tensor:
    """This rank's share of a global batch (:func:`shard_rows`)."""
    rows = shard_rows(len(indices), world)
    return indices[rows.start : rows.stop]


def loss_scale(shard_size: int, global_size: int, world: World) -> float:
    """The factor that turns this rank's mean loss into its part of the global mean, times N: DDP divides the
    sum of the ranks' gradients by N, so the result is the global batch's mean gradient for uneven shards too."""
    if global_size <= 0:
        raise ValueError(f"global_size must be positive, got {global_size}")
    return shard_size * world.size / global_size


def wrap(model: nn.Module, world: World) -> nn.Module:
    """The model under DistributedDataParallel in a group; itself in one process."""
    if not world.distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [model_device.index] if (model_device := next(model.parameters()).device).type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


def all_sum(values: list[float], world: World, device: torch.device) -> list[float]:
    """The sums over the ranks of each number (in one exchange; True counts 1); the numbers themselves in one
    process."""
    if not world.distributed:
        return [float(v) for v in values]
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def gather(obj: Any, world: World) -> list[Any]:
    """Every rank's ``obj``, in rank order (``[obj]`` in one process)."""
    if not world.distributed:
        return [obj]
    parts: list[Any] = [None] * world.size
    dist.all_gather_object(parts, obj)
    return parts


def gather_columns(tensors: list[torch.Tensor], world: World) -> list[torch.Tensor]:
    """Each tensor joined over the ranks along dimension 1, in rank order: the whole batch's state (a language
    model's hidden state, ``(layers, batch, hidden)``) from each rank's share of its columns."""
    if not world.distributed:
        return tensors
    parts = gather([t.detach().cpu() for t in tensors], world)
    return [torch.cat([p[k] for p in parts], 1).to(t.device) for k, t in enumerate(tensors)]


def rank_seed(seed: int, world: World) -> int:
    """A seed of this rank's own, for what each rank draws for its own examples (the dropout masks of a model
    that cannot draw them for the whole batch): seeded alike, the ranks would repeat each other's draws on other
    examples. ``seed`` itself on rank 0."""
    return seed if world.rank == 0 else (seed * 1_000_003 + world.rank) % 2**63


def broadcast(obj: Any, world: World) -> Any:
    """Rank 0's ``obj`` on every rank (a checkpoint's state, a run folder's path)."""
    if not world.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()


def shutdown() -> None:
    """Leave the group (at the end of a command)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def restart_record(out: str | Path, experiment: str) -> Path | None:
    """Where rank 0 notes the run folder of this torchrun group (``TORCHELASTIC_RUN_ID``), so that the group,
    restarted after a failure, resumes that run; None outside torchrun."""
    run_id = os.environ.get("TORCHELASTIC_RUN_ID")
    if not run_id:
        return None
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id)[:100]
    return Path(out) / experiment / ".torchrun" / safe


def restarted() -> bool:
    """Whether torchrun restarted this group after a worker failed (``TORCHELASTIC_RESTART_COUNT`` > 0)."""
    return _int_env("TORCHELASTIC_RESTART_COUNT", 0) > 0


PEER_LOST = ("connection reset by peer", "connection closed by peer", "broken pipe", "socket closed",
             "connection refused", "timed out")  # fmt: skip


def peer_lost(e: BaseException) -> bool:
    """Whether ``e`` is a collective failing because another rank of the group is gone (gloo's "Connection
    reset by peer"), in a process that torchrun started."""
    if _int_env("WORLD_SIZE", 1) < 2 or not isinstance(e, RuntimeError):
        return False
    text = str(e).lower()
    return ("gloo" in text or "nccl" in text or isinstance(e, dist.DistError)) and any(m in text for m in PEER_LOST)


def _rank_of(pid: str) -> int | None:
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    value = next((v.split(b"=", 1)[1] for v in env if v.startswith(b"RANK=")), None)
    return int(value) if value is not None and value.isdigit() else None


def lost_ranks() -> list[int] | None:
    """The ranks of this machine whose processes are gone: torchrun's other workers here, found among the
    children of this process's parent (the agent). None where that cannot be read (not Linux, another
    machine's ranks)."""
    rank, local_rank, local_size = _int_env("RANK", 0), _int_env("LOCAL_RANK", 0), _int_env("LOCAL_WORLD_SIZE", 1)
    parent = Path(f"/proc/{os.getppid()}/task")
    if not parent.is_dir():
        return None
    alive: set[int] = set()
    for task in parent.iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:
            return None
        alive.update(r for r in map(_rank_of, children) if r is not None)
    first = rank - local_rank
    return [r for r in range(first, first + local_size) if r not in alive]


def lost_message(e: BaseException) -> str:
    """One line: which rank this process lost, and what torchrun does next."""
    lost = lost_ranks()
    who = (
        f"rank {', '.join(map(str, lost))} of the group is gone" if lost
        else "a rank of the group on another machine is gone"
    )  # fmt: skip
    first = (str(e).strip().splitlines() or [type(e).__name__])[0]
    cause = first.split("] ", 1)[-1].split(". ", 1)[0][
        :160
    ]  # gloo's "Read error [HOST]:PORT: Connection reset by peer"
    return (f"rank {_int_env('RANK', 0)}: {who} ({cause}); torchrun restarts the group where --max-restarts allows, "
            "and the run resumes from its last checkpoint")  # fmt: skip
