"""``descentlab lm eval RUN``: a trained language model's perplexity on the validation and test text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from descentlab.config import Options, param
from descentlab.errors import UserError
from descentlab.experiments.declaration import Call, Command
from descentlab.experiments.lm.common import evaluate, load, load_model, perplexity
from descentlab.lm.corpus import batchify
from descentlab.runs import select_device


@dataclass(frozen=True)
class EvalOptions(Options):
    run_dir: str = param("", "a descentlab lm train run folder", positional=True, metavar="RUN_DIR")
    json: bool = param(False, "print one JSON object")
    device: str = param("auto", "where to compute", choices=("auto", "cpu", "cuda"))


def run_eval(call: Call) -> int:
    opts: EvalOptions = call.options
    device = select_device(opts.device)
    model, vocab, cfg = load_model(opts.run_dir, device)
    corpus = load(cfg)
    if corpus.vocab.itos != vocab.itos:
        raise UserError(f"{opts.run_dir}: the corpus now gives a different vocabulary than the run was trained on")
    result: dict[str, Any] = {"run": str(opts.run_dir), "corpus": corpus.source}
    for split in ("valid", "test"):
        loss = evaluate(model, batchify(corpus.split(split), cfg.eval_batch_size).to(device), cfg.bptt)
        result |= {f"{split}_loss": loss, f"{split}_perplexity": perplexity(loss)}
    if opts.json:
        print(json.dumps(result))
    else:
        print(f"{corpus.source}: valid perplexity {result['valid_perplexity']:.2f}, "
              f"test perplexity {result['test_perplexity']:.2f}")  # fmt: skip
    return 0


LM_EVAL = Command(
    command="lm eval",
    help="validation and test perplexity of a trained language model",
    description="Validation and test perplexity of the run's best weights (model.pt).",
    examples=("descentlab lm eval runs/lm-train/lstm-2x200-tied__0__20261126-120000 --json",),
    run=run_eval,
    options=EvalOptions,
)
