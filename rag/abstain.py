"""Whether the retrieved evidence can answer a question at all: one calibrated score.

In: a question, the passages retrieved for it and the index's IDF. Out: the probability that
the passages hold its answer, from a logistic model over what of the question they lack: the
share of the question's IDF-weighted words missing from all of them and from the first one,
the rarest missing word's IDF, and whether its rarest word (its key entity or quantity) is
missing from all of them and from the first one. Fitted by `python -m eval.abstain_fit` on the
XQuAD-vi tune half: each question with its retrieved passages (answerable) and again without
its own article's passages (leave-article-out: unanswerable).
Never looks at the answer: a question whose key word no passage says is not answered with a
nearby number or name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rag.question import numbers_agree, terms
from rag.scoring import logistic
from rag.types import Hit

# Calibrated on eval/questions.jsonl (docs/evaluation.md): below this share of the question's
# weighted terms found in the best sentence, the evidence is too weak to answer.
ABSTAIN_THRESHOLD = 0.3
FEATURES = (
    "missing_all",
    "missing_first",
    "rarest_missing",
    "key_missing_all",
    "key_missing_first",
)
# Fitted on the XQuAD-vi tune half (623 questions and their 623 leave-article-out copies;
# hashing embedder, lexical retrieval, top 5 passages; L2 0.01), eval/abstain_fit.py.
WEIGHTS = (-0.957, -2.682, -0.332, -0.552, -1.13)
BIAS = 2.19
# Below this probability the evidence is too weak to answer. Cross-fitted on two halves of
# those articles, with the answerer's other abstention rules: 0.15 gave abstention P/R
# 0.914/0.746 (no answer holding the reference lost), 0.2 gave 0.902/0.783 (5 of 623 lost),
# 0.3 gave 0.871/0.854 (21 lost); the rules alone 0.913/0.721.
THRESHOLD = 0.2
# The rarest missing word's IDF is capped here (the index's IDF of a word it never saw).
IDF_CAP = 8.0


def features(question: str, hits: Sequence[Hit], idf: Callable[[str], float]) -> list[float]:
    """The score's inputs (FEATURES) for `question` and its passages, best first."""
    asked = list(dict.fromkeys(terms(question, folded=True)))
    weight = {t: idf(t) for t in asked}
    total = sum(weight.values()) or 1.0
    first = set(terms(hits[0].chunk.text, folded=True)) if hits else set()
    every = {t for h in hits for t in terms(h.chunk.text, folded=True)}
    key = max(weight, key=weight.get) if weight else None
    missing = [w for t, w in weight.items() if t not in every]
    return [
        sum(missing) / total,
        sum(w for t, w in weight.items() if t not in first) / total,
        min(max(missing, default=0.0), IDF_CAP) / IDF_CAP,
        float(key is not None and key not in every),
        float(key is not None and key not in first),
    ]


def evidence(question: str, hits: Sequence[Hit], idf: Callable[[str], float]) -> float:
    """The probability that `hits` hold the answer to `question`."""
    return logistic(WEIGHTS, BIAS, features(question, hits, idf))


def too_weak(
    question: str,
    coverage: float,
    said: str,
    hits: Sequence[Hit],
    idf: Callable[[str], float],
    threshold: float = ABSTAIN_THRESHOLD,
    floor: float = THRESHOLD,
) -> bool:
    """Whether every answerer abstains: its best sentence holds less than `threshold` of the
    question's weighted words, `said` (its sentence or passage) lacks the question's numbers
    ("năm 2022"), or the calibrated score of the passages is below `floor`."""
    return (
        coverage < threshold
        or not numbers_agree(question, said)
        or evidence(question, hits, idf) < floor
    )


__all__ = ["ABSTAIN_THRESHOLD", "FEATURES", "THRESHOLD", "evidence", "features", "too_weak"]
