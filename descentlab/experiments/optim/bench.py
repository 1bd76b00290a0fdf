"""``descentlab optim bench``: one optimizer step of ours against torch.optim's, timed in the same process."""

from __future__ import annotations

from dataclasses import dataclass

from descentlab.config import Options, param
from descentlab.errors import ParameterError
from descentlab.experiments.declaration import Call, Command
from descentlab.optim import bench
from descentlab.runs import select_device


@dataclass(frozen=True)
class BenchOptions(Options):
    device: str = param("cpu", "where to run", choices=("cpu", "cuda"))
    rounds: int = param(15, "timed steps per variant (median)", low=1, high=10_000)
    only: tuple[str, ...] | None = param(None, "only these algorithms (e.g. Adam RMSProp)", metavar="NAME")
    model: str = param("both", "the large tensors, the many small ones, or both", choices=("large", "many", "both"))

    def __post_init__(self) -> None:
        super().__post_init__()
        valid = [c.name for c in bench.CASES]
        for name in self.only or ():
            if name not in valid:
                raise ParameterError("only", f"{name!r} is not a benchmarked algorithm; valid: {', '.join(valid)}")


def run_bench(call: Call) -> int:
    opts: BenchOptions = call.options
    if opts.device == "cuda":
        select_device("cuda")  # a one-line error when there is no GPU
    models = bench.MODELS if opts.model == "both" else (opts.model,)
    print(bench.main(opts.device, list(opts.only) if opts.only else None, opts.rounds, models))
    return 0


OPTIM_BENCH = Command(
    command="optim bench",
    help="ms per step of ours against torch.optim, on large tensors and on many small ones",
    description=(
        "Time one optimizer step on 48 tensors (24 of 640x640, 24 of 640; 9.8M parameters) and on 500\n"
        "tensors of 1k to 50k elements: ours by default, compiled, flat and flat+compiled against torch.optim's\n"
        "default, for-loop, foreach and fused implementations, in the same process."
    ),
    examples=("descentlab optim bench", "descentlab optim bench --only Adam RMSProp --rounds 30"),
    run=run_bench,
    options=BenchOptions,
)
