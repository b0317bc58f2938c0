"""Scoring functions of the evaluation: document ranking, answer text and abstention.

In: ranked document ids with the gold ones, answer texts with their references, latencies.
Out: plain floats (or None where a figure is undefined). Pure functions, no I/O; every text
comparison goes through `normalize`, the Vietnamese form (canonical tones, lowercase, one space).
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence

from rag.text import canonical

_MARKER = re.compile(r"\s*\[\d+\]")
_PUNCT = re.compile(rf"[{re.escape(string.punctuation)}“”‘’…–—«»]")


def strip_markers(text: str) -> str:
    """The answer without its citation markers ("... 594 chi bộ [1]" -> "... 594 chi bộ")."""
    return _MARKER.sub("", text).strip()


def normalize(text: str) -> str:
    """Canonical tone placement, lowercase, whitespace collapsed: "Đảng uỷ  Khối" -> "đảng ủy khối"."""
    return " ".join(canonical(text).split())


def answer_tokens(text: str) -> list[str]:
    """SQuAD-style tokens: normalised, punctuation removed, split on spaces."""
    return _PUNCT.sub(" ", normalize(text)).split()


def contains_reference(answer: str, references: Sequence[str]) -> bool:
    """Whether any reference appears in the answer, after normalisation."""
    text = normalize(strip_markers(answer))
    return any(normalize(ref) in text for ref in references if ref.strip())


def exact_match(answer: str, references: Sequence[str]) -> float:
    """1.0 when the normalised answer (punctuation ignored) equals a reference, else 0.0."""
    tokens = answer_tokens(strip_markers(answer))
    return float(any(tokens == answer_tokens(ref) for ref in references))


def token_f1(answer: str, references: Sequence[str]) -> float:
    """SQuAD token F1 of the answer against its best reference."""
    predicted = answer_tokens(strip_markers(answer))
    best = 0.0
    for ref in references:
        gold = answer_tokens(ref)
        common = sum((Counter(predicted) & Counter(gold)).values())
        if not common:
            continue
        precision, recall = common / len(predicted), common / len(gold)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


def ranked_documents(doc_ids: Iterable[str]) -> list[str]:
    """Chunk hits' document ids reduced to documents, first occurrence keeps the rank."""
    return list(dict.fromkeys(doc_ids))


def hit_at(ranked: Sequence[str], gold: Iterable[str], k: int) -> float:
    gold = set(gold)
    return float(any(d in gold for d in ranked[:k]))


def recall_at(ranked: Sequence[str], gold: Iterable[str], k: int) -> float:
    gold = set(gold)
    return len(gold & set(ranked[:k])) / len(gold) if gold else 0.0


def mrr_at(ranked: Sequence[str], gold: Iterable[str], k: int) -> float:
    gold = set(gold)
    return next((1.0 / rank for rank, d in enumerate(ranked[:k], 1) if d in gold), 0.0)


def ndcg_at(ranked: Sequence[str], gold: Iterable[str], k: int) -> float:
    """Binary-relevance nDCG: gold documents have gain 1."""
    gold = set(gold)
    dcg = sum(1.0 / math.log2(rank + 1) for rank, d in enumerate(ranked[:k], 1) if d in gold)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(gold), k) + 1))
    return dcg / ideal if ideal else 0.0


def abstention_scores(
    abstained: Sequence[bool], answerable: Sequence[bool]
) -> tuple[float | None, float | None]:
    """(precision, recall) of abstaining as a detector of unanswerable questions; None when
    nothing was abstained (precision) or no question is unanswerable (recall)."""
    both = sum(1 for a, ok in zip(abstained, answerable, strict=True) if a and not ok)
    n_abstained = sum(abstained)
    n_unanswerable = sum(1 for ok in answerable if not ok)
    precision = both / n_abstained if n_abstained else None
    recall = both / n_unanswerable if n_unanswerable else None
    return precision, recall


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def word_count(text: str) -> int:
    return len(strip_markers(text).split())
