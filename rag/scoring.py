"""Lexical scores of text against a question, and the tiny logistic model of the answerer.

In: a query, candidate text, an IDF function; or a feature row and weights. Out: floats in [0, 1].
Never changes text: tokens are compared in canonical (or folded) form only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from rag.question import terms
from rag.text import fold, has_diacritics


class Overlap:
    """Share of a query's IDF-weighted terms (and bigrams) that a sentence contains."""

    def __init__(self, query: str, idf: Callable[[str], float]):
        self.folded = not has_diacritics(query)
        found = terms(query, self.folded)
        self.weights = {t: idf(fold(t)) for t in dict.fromkeys(found)}
        self.total = sum(self.weights.values()) or 1.0
        self.bigrams = set(zip(found, found[1:], strict=False))

    def __call__(self, sentence: str) -> float:
        tokens = terms(sentence, self.folded)
        present = set(tokens)
        unigram = sum(w for t, w in self.weights.items() if t in present) / self.total
        if not self.bigrams:
            return unigram
        pairs = set(zip(tokens, tokens[1:], strict=False))
        bigram = len(self.bigrams & pairs) / len(self.bigrams)
        return 0.75 * unigram + 0.25 * bigram


# The sentence score of every answerer (rag.answer.factoid, rag.answer.shaped): the sentence's
# share of the question's weighted words, a bonus when it holds a span of the asked type (typed
# questions), the rank of its passage, and (with a real model) the question-sentence cosine.
# rag.answer.shaped gives no typed bonus: on the XQuAD-vi tune half a bonus for holding a clause
# or a list (0.15) picked the wrong sentence more often than the right one.
RANK_WEIGHT, TYPED_BONUS, DENSE_WEIGHT = 0.2, 0.15, 0.3


def sentence_score(
    coverage: float,
    rank: int,
    dense: float | None = None,
    typed: bool = False,
    rank_weight: float = RANK_WEIGHT,
) -> float:
    """How well a sentence answers: see RANK_WEIGHT, TYPED_BONUS, DENSE_WEIGHT."""
    score = coverage + (TYPED_BONUS if typed else 0.0) + rank_weight / rank
    return score + (DENSE_WEIGHT * dense if dense is not None else 0.0)


def flat_idf(_: str) -> float:
    return 1.0


def idf_from_counts(doc_freq: Callable[[str], int], n_docs: int) -> Callable[[str], float]:
    def idf(term: str) -> float:
        return math.log(1 + (n_docs - doc_freq(term) + 0.5) / (doc_freq(term) + 0.5))

    return idf


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def logistic(weights: Sequence[float], bias: float, row: Sequence[float]) -> float:
    """P(y = 1 | row) of a logistic regression."""
    z = bias + sum(w * x for w, x in zip(weights, row, strict=True))
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
