"""Word-level language models: corpus and vocabulary, batching, truncated BPTT, the model, the commands.

Independent references: torch.nn.LSTM (the same model on torch's layer gives the same logits, 1e-5),
the analytic perplexity of a uniform model (exactly the vocabulary size), and a corpus whose next word is
always determined (a model that learns it reaches a perplexity near 1).
"""

from __future__ import annotations

import json
import math
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from conftest import StopAfter, assert_one_line_error, cli

from descentlab.errors import DataError
from descentlab.experiments.lm.common import LMConfig, evaluate
from descentlab.lm.corpus import EOS, UNK, Vocabulary, batchify, chunks, corpus_tokens, load_corpus
from descentlab.lm.model import LanguageModel, detach, generate
from descentlab.runs import load_run

WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]


def _cycle_corpus(path: Path, lines: int = 400) -> Path:
    """Lines of the same ten words in order: after the first word, every next word is determined."""
    path.write_text("\n".join(" ".join(WORDS) for _ in range(lines)) + "\n", encoding="utf-8")
    return path


def test_vocabulary_min_freq_max_size_and_unknown_words() -> None:
    tokens = ["a", "a", "a", "b", "b", "c", "<eos>", "d"]
    vocab = Vocabulary.build(tokens, min_freq=2)
    assert vocab.itos == [EOS, UNK, "a", "b"]  # by frequency; c and d seen once
    assert vocab.decode(vocab.encode(["b", "zzz", "a"])) == ["b", UNK, "a"]
    assert len(Vocabulary.build(tokens, max_size=3)) == 3  # <eos>, <unk> and the most frequent word
    assert Vocabulary.from_json(vocab.to_json()).itos == vocab.itos
    ties = Vocabulary.build(["z", "y", "y", "z", "x", "w", "x"])  # z, y and x twice: in order of first appearance
    assert ties.itos == [EOS, UNK, "z", "y", "x", "w"]


def test_penn_treebank_corpus_has_the_published_sizes() -> None:
    corpus = load_corpus()
    assert len(corpus.vocab) == 10_000  # Mikolov's PTB: 10k words including <unk> and <eos>
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (929_589, 73_760, 82_430)
    corpus.train.zero_()  # each caller gets a corpus of its own: the next load is as the package has it
    again = load_corpus()
    assert again.train.ne(0).any() and len(again.vocab) == 10_000
    tokens, _ = corpus_tokens(None)  # built the same as from the tokens themselves
    assert again.vocab.itos == Vocabulary.build(tokens["train"]).itos
    assert torch.equal(again.valid, again.vocab.encode(tokens["valid"]))


def test_batchify_and_chunks_follow_the_parallel_streams() -> None:
    data = batchify(torch.arange(26), 4)  # 6 rows, 2 tokens dropped
    assert data.shape == (6, 4)
    assert data[:, 1].tolist() == [6, 7, 8, 9, 10, 11]  # column j is the j-th contiguous piece
    got = list(chunks(data, 4))
    assert [row for row, _, _ in got] == [0, 4]
    _, x, y = got[1]
    assert x.shape == (1, 4) and torch.equal(y, data[5:6])  # the last chunk is shorter; targets shifted by one
    assert torch.equal(got[0][2], data[1:5])
    with pytest.raises(DataError, match="too few"):
        batchify(torch.arange(5), 4)


def test_corpus_file_and_folder_layouts(tmp_path: Path) -> None:
    path = tmp_path / "text.txt"
    path.write_text("".join(f"line {i}\n" for i in range(40)), encoding="utf-8")
    tokens, _ = corpus_tokens(path)
    assert len(tokens["train"]) == 36 * 3 and len(tokens["valid"]) == 2 * 3 and len(tokens["test"]) == 2 * 3
    assert tokens["test"][-3:] == ["line", "39", EOS]  # in order: the last lines are the test split
    folder = tmp_path / "corpus"
    folder.mkdir()
    for split in ("train", "valid", "test"):
        (folder / f"{split}.txt").write_text(f"{split} words here\n", encoding="utf-8")
    tokens, _ = corpus_tokens(folder)
    assert tokens["valid"] == ["valid", "words", "here", EOS]
    (folder / "test.txt").unlink()
    with pytest.raises(DataError, match=r"missing test\.txt"):
        corpus_tokens(folder)


def test_model_on_our_lstm_equals_the_model_on_torch_lstm() -> None:
    torch.manual_seed(0)
    theirs = LanguageModel(50, 16, 16, 2, 0.0, tied=True, impl="torch")
    ids = torch.randint(0, 50, (7, 3))
    for impl in ("loop", "bptt", "fused"):
        ours = LanguageModel(50, 16, 16, 2, 0.0, tied=True, impl=impl)
        ours.load_state_dict(theirs.state_dict())
        a, (_, ca) = ours(ids, ours.init_state(3))
        b, (_, cb) = theirs(ids, theirs.init_state(3))
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5)
        torch.testing.assert_close(ca, cb, rtol=0, atol=1e-5)
    assert theirs.decoder.weight is theirs.encoder.weight  # tied: one matrix
    with pytest.raises(ValueError, match="tied embeddings need emsize == hidden"):
        LanguageModel(50, 16, 32, tied=True)


def test_uniform_model_has_perplexity_equal_to_the_vocabulary_size() -> None:
    model = LanguageModel(37, 8, 8, 1, 0.0)
    with torch.no_grad():
        model.decoder.weight.zero_()
        model.decoder.bias.zero_()
    data = batchify(torch.randint(0, 37, (500,)), 5)
    assert math.exp(evaluate(model, data, 9)) == pytest.approx(37.0, rel=1e-6)


def test_carrying_the_state_across_chunks_equals_reading_the_whole_stream() -> None:
    torch.manual_seed(0)
    model = LanguageModel(30, 8, 8, 2, 0.0)
    data = batchify(torch.randint(0, 30, (400,)), 4)
    whole = evaluate(model, data, len(data))
    torch.testing.assert_close(evaluate(model, data, 7), whole, rtol=1e-6, atol=0)
    state = detach(model.init_state(4))
    assert not state[0].requires_grad


def test_generate_respects_top_k_and_the_seed() -> None:
    torch.manual_seed(0)
    model = LanguageModel(40, 8, 8, 1, 0.0)
    prompt = torch.tensor([1, 2, 3])
    a = generate(model, prompt, 30, 1.0, 1, torch.Generator().manual_seed(0))  # top-1: greedy
    b = generate(model, prompt, 30, 5.0, 1, torch.Generator().manual_seed(9))
    assert a == b  # top-k 1 ignores temperature and seed
    c = generate(model, prompt, 30, 1.0, 0, torch.Generator().manual_seed(3))
    assert c == generate(model, prompt, 30, 1.0, 0, torch.Generator().manual_seed(3))
    assert len(set(generate(model, prompt, 200, 5.0, 0, torch.Generator().manual_seed(1)))) > 10


def test_lm_train_learns_a_determined_corpus_then_eval_and_generate(tmp_path: Path) -> None:
    corpus = _cycle_corpus(tmp_path / "cycle.txt")
    result = cli("lm", "train", "--corpus", str(corpus), "--emsize", "32", "--hidden", "32", "--tied",
                 "--epochs", "3", "--lr", "0.01", "--optimizer", "adam", "--clip", "1", "--dropout", "0",
                 "--batch-size", "8", "--bptt", "20", "--out", str(tmp_path / "runs"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    (run,) = (tmp_path / "runs" / "lm-train").iterdir()
    final = load_run(run).final()
    assert final["test/perplexity"] < 1.5  # uniform over 11 words would be 11
    assert (run / "perplexity.png").stat().st_size > 10_000
    evaluated = cli("lm", "eval", str(run), "--json", "--device", "cpu")
    assert evaluated.returncode == 0, evaluated.stderr
    payload = json.loads(evaluated.stdout)
    assert payload["test_perplexity"] == pytest.approx(final["test/perplexity"], rel=1e-9)
    sample = cli("lm", "generate", str(run), "--prompt", "alpha bravo", "--words", "10", "--top-k", "1")
    assert sample.returncode == 0, sample.stderr
    assert sample.stdout.splitlines() == [" ".join(WORDS), "alpha"]  # the cycle, <eos> as a line break


def test_an_interrupted_training_resumes_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from descentlab.errors import Interrupted
    from descentlab.experiments import EXPERIMENTS, experiment, runner, start

    corpus = _cycle_corpus(tmp_path / "cycle.txt", 200)
    cfg = LMConfig(corpus=str(corpus), emsize=16, hidden=16, epochs=2, batch_size=4, bptt=10, log_every=5,
                   lr=1.0, dropout=0.3)  # fmt: skip
    exp = experiment("lm-train")
    unbroken = load_run(start(exp, cfg, tmp_path / "unbroken"))

    @contextmanager
    def stop_midway(*_):  # type: ignore[no-untyped-def]
        yield StopAfter(77)  # in the second epoch, between two records

    monkeypatch.setattr(runner, "stop_on_signals", stop_midway)
    with pytest.raises(Interrupted):
        start(exp, cfg, tmp_path / "broken")
    monkeypatch.undo()
    (run,) = (tmp_path / "broken" / "lm-train").iterdir()
    runner.resume(EXPERIMENTS, run)
    resumed = load_run(run)
    assert resumed.metrics == unbroken.metrics
    timed = ("train_seconds", "tokens_per_second", "seconds_per_epoch")
    assert {k: v for k, v in resumed.final().items() if k not in timed} == {
        k: v for k, v in unbroken.final().items() if k not in timed
    }


def test_lm_commands_reject_bad_input_in_one_line(tmp_path: Path) -> None:
    assert_one_line_error(
        cli("lm", "train", "--emsize", "100", "--hidden", "200", "--tied"), "tying needs emsize == hidden"
    )
    assert_one_line_error(cli("lm", "train", "--corpus", str(tmp_path / "nope.txt")), "no such corpus file")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe not text")
    assert_one_line_error(cli("lm", "train", "--corpus", str(bad)), "not UTF-8")
    assert_one_line_error(cli("lm", "train", "--impl", "cudnn"), "impl", "loop, bptt, fused, torch")
    assert_one_line_error(cli("lm", "eval", str(tmp_path)), "config.json")
    assert_one_line_error(
        cli("lm", "generate", str(tmp_path), "--temperature", "-1"), "--temperature: -1.0 is out of range"
    )
