"""Word-level language models: corpus and vocabulary, batching for truncated BPTT, the model, sampling.

>>> from descentlab.lm import LanguageModel, load_corpus, batchify, chunks
>>> corpus = load_corpus()  # Penn Treebank, or load_corpus("my.txt")
>>> model = LanguageModel(len(corpus.vocab), emsize=200, hidden=200, layers=2, tied=True)
"""

from descentlab.lm.corpus import EOS, UNK, Corpus, Vocabulary, batchify, chunks, corpus_tokens, load_corpus
from descentlab.lm.model import CELLS, LM_IMPLS, LanguageModel, detach, generate, perplexity, recurrent_layer

__all__ = [
    "CELLS",
    "EOS",
    "LM_IMPLS",
    "UNK",
    "Corpus",
    "LanguageModel",
    "Vocabulary",
    "batchify",
    "chunks",
    "corpus_tokens",
    "detach",
    "generate",
    "load_corpus",
    "perplexity",
    "recurrent_layer",
]
