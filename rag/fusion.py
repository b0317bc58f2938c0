"""Hybrid fusion that knows the question: how much the dense ranking may say, and the fused order.

In: the question as typed, the embedder's name, and (position, score) lists from BM25 and from
the dense index. Out: `FusionWeights`, and (position, fused score) pairs best first.
Fusion is linear over min-max normalised scores (each list's best is 1, its worst 0, a chunk
missing from a list gets 0 there). A weight of 0 is no vote at all: the other ranking is returned
as it is. Never reads the settings itself: an override comes in as an argument.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.text import has_diacritics, is_vietnamese_syllable

# Weights of the dense ranking (the lexical one gets 1 - weight), tuned on the even-numbered
# half of XQuAD-vi's articles and checked on the odd half (docs/evaluation.md, "Fusion").
# A real multilingual model reads a question with diacritics as well as BM25 does, and differently.
DENSE_WEIGHT_ACCENTED = 0.6
# The same model is nearly blind to Vietnamese typed without diacritics (dense hit@5 about 0.1 on
# XQuAD-vi), while BM25 matches it through folded tokens: any dense vote only moves wrong passages up.
DENSE_WEIGHT_UNACCENTED = 0.0
# The offline hashing embedder is a weaker copy of the lexical signal (folded n-grams, no meaning):
# on the tune half no weight above 0 gained a question (0.1: same hit@1, one hit@5 lost).
DENSE_WEIGHT_HASHING = 0.0
# A question in another language (English) shares few words with Vietnamese passages; the model
# maps both into one space, so it gets the accented weight (no such questions to tune it on).
DENSE_WEIGHT_FOREIGN = DENSE_WEIGHT_ACCENTED

# A Vietnamese question typed with its diacritics has marks on most syllables ("Ai là ..." has
# 1 of 2); one below this share was typed without them ("Ai la Truong Ban ... ĐUK").
MIN_MARKED_SHARE = 0.2
# Most words of an English question cannot be Vietnamese syllables ("what", "work", "city").
MIN_FOREIGN_SHARE = 0.5

_WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class FusionWeights:
    """Weights of the lexical and the dense ranking in the hybrid mode."""

    lexical: float
    dense: float


def question_script(question: str) -> str:
    """ "accented" (Vietnamese with diacritics, or nothing to tell), "unaccented" (Vietnamese
    typed without them) or "foreign" (mostly words that cannot be Vietnamese syllables)."""
    words = _WORD.findall(question)
    if not words:
        return "accented"
    marked = sum(has_diacritics(w) for w in words)
    if marked / len(words) >= MIN_MARKED_SHARE:
        return "accented"
    foreign = sum(not is_vietnamese_syllable(w) for w in words)
    return "foreign" if foreign / len(words) >= MIN_FOREIGN_SHARE else "unaccented"


def fusion_weights(
    question: str, embedder_name: str, override: tuple[float, float] | None = None
) -> FusionWeights:
    """The weights for this question: `override` (RAG_HYBRID_WEIGHTS) when set, else by the
    embedder and by how the question is written."""
    if override is not None:
        return FusionWeights(*override)
    if embedder_name == "hashing":
        dense = DENSE_WEIGHT_HASHING
    else:
        dense = {
            "accented": DENSE_WEIGHT_ACCENTED,
            "unaccented": DENSE_WEIGHT_UNACCENTED,
            "foreign": DENSE_WEIGHT_FOREIGN,
        }[question_script(question)]
    return FusionWeights(lexical=1.0 - dense, dense=dense)


def min_max(scores: Sequence[tuple[int, float]]) -> dict[int, float]:
    """Scores mapped onto [0, 1]: the best 1, the worst 0; all equal -> all 1."""
    if not scores:
        return {}
    values = [s for _, s in scores]
    low, high = min(values), max(values)
    span = high - low
    return {pos: (s - low) / span if span > 0 else 1.0 for pos, s in scores}


def linear_fusion(
    lexical: Sequence[tuple[int, float]],
    dense: Sequence[tuple[int, float]],
    weights: FusionWeights,
) -> list[tuple[int, float]]:
    """Fuse two (position, score) rankings: weights.lexical * lexical' + weights.dense * dense',
    where ' is min-max normalisation within the list; best first, ties by position."""
    if weights.dense <= 0:
        return list(lexical)
    if weights.lexical <= 0:
        return list(dense)
    fused: dict[int, float] = {}
    for weight, ranking in ((weights.lexical, lexical), (weights.dense, dense)):
        for pos, score in min_max(ranking).items():
            fused[pos] = fused.get(pos, 0.0) + weight * score
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))
