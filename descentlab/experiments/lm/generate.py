"""``descentlab lm generate RUN``: text sampled from a trained language model."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from descentlab.config import Options, param
from descentlab.experiments.declaration import Call, Command
from descentlab.experiments.lm.common import load_model
from descentlab.lm.corpus import EOS
from descentlab.lm.model import generate
from descentlab.runs import select_device


@dataclass(frozen=True)
class GenerateOptions(Options):
    run_dir: str = param("", "a descentlab lm train run folder", positional=True, metavar="RUN_DIR")
    prompt: str = param("", "words to start from (default: a sentence start)")
    words: int = param(50, "words to generate", low=1, high=100_000)
    temperature: float = param(
        1.0, "softmax temperature (0.01: nearly always the likeliest word)", low=0.01, high=100.0
    )
    top_k: int = param(0, "sample among the k most likely words (0: all)", low=0, high=10**7)
    seed: int = param(0, "sampling seed", low=0, high=2**31 - 1)
    device: str = param("auto", "where to compute", choices=("auto", "cpu", "cuda"))


def run_generate(call: Call) -> int:
    opts: GenerateOptions = call.options
    device = select_device(opts.device)
    model, vocab, _ = load_model(opts.run_dir, device)
    ids = vocab.encode(opts.prompt.split() or [EOS])
    sample = generate(model, ids, opts.words, opts.temperature, opts.top_k, torch.Generator().manual_seed(opts.seed))
    words = " ".join(w if w != EOS else "\n" for w in vocab.decode(sample))
    print((opts.prompt + " " if opts.prompt else "") + words.replace(" \n ", "\n").strip())
    return 0


LM_GENERATE = Command(
    command="lm generate",
    help="sample text from a trained language model",
    description=(
        "Reads the prompt's words (unknown ones become <unk>), then samples each next word from the\n"
        "softmax of the logits divided by --temperature, among the --top-k most likely (0: all)."
    ),
    examples=("descentlab lm generate RUN_DIR --prompt 'the company said' --words 40 --temperature 0.8 --top-k 40",),
    run=run_generate,
    options=GenerateOptions,
)
