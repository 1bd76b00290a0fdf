"""``python -m descentlab.torchrun``: torchrun, ending as every descentlab command ends.

The same arguments as ``torchrun`` (``--standalone --nproc-per-node 2 -m descentlab optim train ...``); what
differs is how it ends. ``torchrun`` itself answers a SIGTERM (a scheduler's stop) or SIGHUP with its own
traceback and exit code 1, and a worker that failed with a page of "ChildFailedError"; this launcher exits
128 + the signal's number (143 for SIGTERM, as one process does, after every rank has written its
checkpoint) and says a failed worker in one line (which rank, its exit code), exit 1.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
from collections.abc import Sequence

from torch.distributed.elastic.multiprocessing.api import SignalException
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
from torch.distributed.run import parse_args, run

from descentlab.errors import printable

LAUNCHED = "DESCENTLAB_TORCHRUN"  # set for the workers: this launcher says a lost rank, they need not


def first_failure(e: ChildFailedError) -> str:
    """``rank 1 (exit code -9, SIGKILL)``: the worker that failed first, the others' failures following from it."""
    rank, failure = e.get_first_failure()  # the global rank
    code = failure.exitcode
    name = ""
    if code < 0:
        with contextlib.suppress(ValueError):
            name = f", {signal.Signals(-code).name}"
    return f"rank {rank} (exit code {code}{name})"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    os.environ[LAUNCHED] = "1"
    if "LOGLEVEL" not in os.environ:  # torch's own lines on the workers' fate: said here in one line instead
        for name in [n for n in logging.root.manager.loggerDict if n.startswith("torch.distributed")]:
            logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        run(args)
    except SignalException as e:
        return 128 + int(e.sigval)  # every rank has already said where its checkpoint is
    except ChildFailedError as e:
        restarts = f" after {args.max_restarts} restart(s)" if args.max_restarts else ""
        print(printable(f"descentlab: error: the group failed{restarts}: {first_failure(e)} first; the run "
                        "resumes from its last checkpoint with the same command and --resume RUN_DIR"),
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
