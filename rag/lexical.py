"""The BM25 index derived from the stored chunks (Chroma's own sparse index is not local).

In: per chunk, two token lists from `index_tokens` (pyvi words, tone-normalised and lowercased;
accent-folded syllables). Out: a score for every chunk of a query, summed over both fields, so
a question typed without diacritics still finds its passage. Never reads or changes chunk text.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from sys import intern

import bm25s
import numpy as np

from rag.text import folded_tokens, has_diacritics, segment_words

# bm25s sets its own logger to DEBUG on import and would print to the user's terminal.
logging.getLogger("bm25s").setLevel(logging.WARNING)

FIELDS = ("words", "folded")


def index_tokens(text: str) -> tuple[list[str], list[str]]:
    """(segmented words with diacritics, accent-folded syllables) of one passage or query.
    Tokens are interned: a snapshot keeps every chunk's tokens, and at 100,000 passages tens of
    millions of separate copies of a few thousand distinct words would take gigabytes."""
    return [intern(t) for t in segment_words(text)], [intern(t) for t in folded_tokens(text)]


class LexicalIndex:
    """Two bm25s indexes over the same chunks, in the same order as the snapshot's chunk list."""

    def __init__(self, words: bm25s.BM25 | None, folded: bm25s.BM25 | None, size: int):
        self._words = words
        self._folded = folded
        self.size = size

    @classmethod
    def build(cls, tokens: Sequence[tuple[list[str], list[str]]]) -> LexicalIndex:
        if not tokens:  # bm25s cannot index nothing
            return cls(None, None, 0)
        indexes = []
        for field in range(len(FIELDS)):
            bm25 = bm25s.BM25()
            # An empty passage still needs one token so that bm25s keeps the chunk's row.
            bm25.index([t[field] or [""] for t in tokens], show_progress=False)
            indexes.append(bm25)
        return cls(indexes[0], indexes[1], len(tokens))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk. A query with accents weighs the folded field at half,
        because folding merges words the accents tell apart (bàn, bán, bạn); a query without
        any uses only the folded field, since pyvi cannot segment unaccented text."""
        words, folded = index_tokens(query)
        total = np.zeros(self.size, dtype=np.float32)
        if not self.size:
            return total
        accented = has_diacritics(query)
        for bm25, query_tokens, weight in (
            (self._words, words, 1.0 if accented else 0.0),
            (self._folded, folded, 0.5 if accented else 1.0),
        ):
            ids = bm25.get_tokens_ids(query_tokens) if weight else []
            if ids:
                total += weight * bm25.get_scores_from_ids(ids)
        return total

    def folded_doc_freq(self, token: str) -> int:
        """How many chunks contain this accent-folded syllable (for IDF weights elsewhere)."""
        if self._folded is None:
            return 0
        tid = self._folded.vocab_dict.get(token)
        if tid is None:
            return 0
        indptr = self._folded.scores["indptr"]
        return int(indptr[tid + 1] - indptr[tid])

    def save(self, folder: Path) -> None:
        if not self.size:
            return
        for name, bm25 in zip(FIELDS, (self._words, self._folded), strict=True):
            bm25.save(str(folder / f"bm25_{name}"))

    @classmethod
    def load(cls, folder: Path, size: int) -> LexicalIndex:
        if not size:
            return cls(None, None, 0)
        words, folded = (bm25s.BM25.load(str(folder / f"bm25_{name}")) for name in FIELDS)
        for bm25 in (words, folded):
            if bm25.scores["num_docs"] != size:
                raise ValueError(
                    f"{folder}: BM25 index holds {bm25.scores['num_docs']} "
                    f"passages, the snapshot {size}"
                )
        return cls(words, folded, size)


def top_k(scores: np.ndarray, k: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
    """Indices and scores of the k best positive scores, best first."""
    if mask is not None:
        scores = np.where(mask, scores, 0.0)
    k = min(k, int(np.count_nonzero(scores > 0)))
    if k <= 0:
        return []
    best = np.argpartition(-scores, k - 1)[:k]
    best = best[np.lexsort((best, -scores[best]))]  # ties: earlier chunk first
    return [(int(i), float(scores[i])) for i in best]
