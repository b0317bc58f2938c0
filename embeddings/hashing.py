"""The offline embedder: feature-hashed character n-grams and words, no model, no download.

In: texts. Out: L2-normalised float32 vectors of a fixed dimension, identical in every process
and on every machine (the hash is our own integer arithmetic, never Python's salted `hash()`).
Accents are folded and case is lowered first, so "Đảng ủy" and "Dang uy" get the same vector.
It must never depend on anything but the text: no state, no vocabulary, no randomness.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

from embeddings.base import ArrayEmbeddings
from rag.text import fold

CHAR_NGRAMS = (3, 4, 5)
# Words carry more meaning per feature than character pieces; the two groups are scaled
# separately (each to unit length) and then mixed with these weights.
CHAR_WEIGHT = 1.0
WORD_WEIGHT = 1.0
# Texts are hashed in groups of about this many characters: large enough that numpy's per-call
# overhead vanishes, small enough that the uint64 work arrays stay a few tens of megabytes.
CHUNK_CHARS = 1 << 20

_NON_WORD = re.compile(r"\W+")
_SPACE = ord(" ")
_BASE = np.uint64(0x100000001B3)  # odd, so it has an inverse modulo 2**64
_BASE_INV = np.uint64(pow(0x100000001B3, -1, 1 << 64))
_SALT_WORD = 101
_SALT_BIGRAM = 102


def _mix(h: np.ndarray, salt: int) -> np.ndarray:
    """splitmix64's finaliser: spreads a polynomial hash over all 64 bits; the salt keeps
    a word and a character n-gram with the same letters apart."""
    # The offset is reduced in Python: numpy warns on overflowing uint64 scalars, not arrays.
    z = h + np.uint64(salt * 0x9E3779B97F4A7C15 % (1 << 64))
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


class HashingEmbeddings(ArrayEmbeddings):
    """Signed feature hashing of accent-folded character 3-5-grams (inside words, padded with
    one space as scikit-learn's `char_wb` does) and word unigrams and bigrams.

    Args:
        dimension: length of every vector.
    """

    name = "hashing"

    def __init__(self, dimension: int = 512) -> None:
        if dimension < 2:
            raise ValueError(f"dimension must be at least 2, got {dimension}")
        self.dimension = dimension
        self._powers = np.ones(1, dtype=np.uint64)
        self._inverse_powers = np.ones(1, dtype=np.uint64)

    def embed_array(
        self, texts: Sequence[str], *, is_query: bool = False, show_progress: bool | None = None
    ) -> np.ndarray:
        """Vectors of `texts` as a float32 array of shape (len(texts), dimension).

        `is_query` and `show_progress` are accepted for the common embedder interface; queries
        and passages are embedded the same way, fast enough to need no bar. An empty text gets
        the zero vector.
        """
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start, stop in _chunks(texts, CHUNK_CHARS):
            out[start:stop] = self._embed_chunk(texts[start:stop])
        return out

    def count_tokens(self, text: str) -> int:
        """Number of whitespace-separated words."""
        return len(text.split())

    def _embed_chunk(self, texts: Sequence[str]) -> np.ndarray:
        n_docs, dim = len(texts), self.dimension
        # One space of padding on each side of every text: a word's first and last n-grams
        # include it, and no n-gram can span two texts (that would need an inner space).
        cleaned = [" " + _NON_WORD.sub(" ", fold(t).lower()).strip() + " " for t in texts]
        lengths = np.fromiter((len(s) for s in cleaned), dtype=np.int64, count=n_docs)
        starts = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(lengths, out=starts[1:])
        codes = np.frombuffer("".join(cleaned).encode("utf-32-le"), dtype=np.uint32)
        codes = codes.astype(np.uint64)
        total = len(codes)

        powers, inverse_powers = self._powers_upto(total + 1)
        # prefix[i] = sum(codes[j] * BASE**j, j < i), so any slice [a, b) hashes to
        # (prefix[b] - prefix[a]) * BASE**-a independently of where it occurs (mod 2**64).
        prefix = np.zeros(total + 1, dtype=np.uint64)
        np.cumsum(codes * powers[:total], out=prefix[1:])
        is_space = codes == _SPACE
        spaces_before = np.zeros(total + 1, dtype=np.int64)
        np.cumsum(is_space, out=spaces_before[1:])

        char_vec = np.zeros(n_docs * dim, dtype=np.float64)
        for n in CHAR_NGRAMS:
            if total < n:
                continue
            first = np.arange(total - n + 1)
            inner_spaces = spaces_before[first + n - 1] - spaces_before[first + 1]
            first = first[inner_spaces == 0]
            hashes = (prefix[first + n] - prefix[first]) * inverse_powers[first]
            docs = np.searchsorted(starts, first, side="right") - 1
            self._accumulate(char_vec, docs, _mix(hashes, n))

        word_vec = np.zeros(n_docs * dim, dtype=np.float64)
        boundary = np.diff(np.concatenate(([0], (~is_space).astype(np.int8), [0])))
        word_start = np.flatnonzero(boundary == 1)
        word_end = np.flatnonzero(boundary == -1)
        word_hash = (prefix[word_end] - prefix[word_start]) * inverse_powers[word_start]
        word_docs = np.searchsorted(starts, word_start, side="right") - 1
        self._accumulate(word_vec, word_docs, _mix(word_hash, _SALT_WORD))
        same_doc = word_docs[1:] == word_docs[:-1]
        bigram_hash = word_hash[:-1][same_doc] * _BASE + _mix(word_hash[1:][same_doc], _SALT_WORD)
        self._accumulate(word_vec, word_docs[1:][same_doc], _mix(bigram_hash, _SALT_BIGRAM))

        vectors = CHAR_WEIGHT * _unit_rows(char_vec.reshape(n_docs, dim))
        vectors += WORD_WEIGHT * _unit_rows(word_vec.reshape(n_docs, dim))
        return _unit_rows(vectors)

    def _accumulate(self, flat: np.ndarray, docs: np.ndarray, mixed: np.ndarray) -> None:
        """Add ±1 per feature to its bucket; the sign from the top bit makes collisions cancel
        on average, so unrelated texts land near cosine 0 rather than sharing a positive bias."""
        buckets = (mixed % np.uint64(self.dimension)).astype(np.int64)
        signs = 1.0 - 2.0 * (mixed >> np.uint64(63)).astype(np.float64)
        flat += np.bincount(docs * self.dimension + buckets, weights=signs, minlength=flat.size)

    def _powers_upto(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        """BASE**i and BASE**-i modulo 2**64 for i < size, grown once and kept."""
        if len(self._powers) < size:
            size = max(size, 2 * len(self._powers))
            powers = np.full(size, _BASE, dtype=np.uint64)
            powers[0] = 1
            inverse = np.full(size, _BASE_INV, dtype=np.uint64)
            inverse[0] = 1
            # uint64 products wrap around, which is exactly arithmetic modulo 2**64.
            self._powers = np.cumprod(powers, dtype=np.uint64)
            self._inverse_powers = np.cumprod(inverse, dtype=np.uint64)
        return self._powers, self._inverse_powers


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def _chunks(texts: Iterable[str], budget: int) -> Iterable[tuple[int, int]]:
    """(start, stop) index ranges of consecutive texts holding about `budget` characters."""
    start = size = 0
    stop = -1
    for stop, text in enumerate(texts):
        size += len(text)
        if size >= budget:
            yield start, stop + 1
            start, size = stop + 1, 0
    if start <= stop:
        yield start, stop + 1
