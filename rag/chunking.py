"""Sentence-aware chunks of an `Article`, with offsets into its original text.

In: an `Article` (original text + kept body blocks) and a token counter of the embedding model.
Out: `Chunk`s of at most `max_tokens` tokens, one sentence of overlap, never crossing a removed
line, cutting a sentence only when it alone is over the budget (between words, or inside a word
longer than the budget). A chunk's `text` is always `article.text[start:end]`, untouched.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from rag.text import split_sentences
from rag.types import Article, Chunk

TokenCounter = Callable[[str], int]


def chunk_id_for(doc_id: str, content_hash: str, index: int) -> str:
    """Ids derive from content, so re-ingesting an unchanged file reproduces the same ids."""
    return hashlib.sha1(f"{doc_id}\x00{content_hash}\x00{index}".encode()).hexdigest()[:20]


def word_count(text: str) -> int:
    return len(text.split())


def chunk_article(
    article: Article,
    count_tokens: TokenCounter = word_count,
    max_tokens: int = 200,
    overlap: int = 1,
) -> list[Chunk]:
    """Greedy packing of whole sentences per body block, `overlap` sentences carried over."""
    spans: list[list[tuple[int, int, int]]] = []
    for block_start, block_end in article.body:
        block = article.text[block_start:block_end]
        sentences = []
        for s, e in split_sentences(block):
            tokens = count_tokens(block[s:e])
            if tokens <= max_tokens:
                sentences.append((block_start + s, block_start + e, tokens))
            else:
                sentences.extend(
                    (block_start + ps, block_start + pe, n)
                    for ps, pe, n in _cut(block, s, e, count_tokens, max_tokens)
                )
        spans.extend(_pack(sentences, max_tokens, overlap))
    return [
        Chunk(
            chunk_id=chunk_id_for(article.doc_id, article.content_hash, i),
            doc_id=article.doc_id,
            index=i,
            text=article.text[group[0][0] : group[-1][1]],
            start=group[0][0],
            end=group[-1][1],
            title=article.title,
            outlet=article.outlet,
            date=article.date,
            author=article.author,
        )
        for i, group in enumerate(spans)
    ]


_WORD = re.compile(r"\S+")


def _cut(
    text: str, start: int, end: int, count_tokens: TokenCounter, max_tokens: int
) -> list[tuple[int, int, int]]:
    """Pieces of the over-long sentence `text[start:end]`, each within `max_tokens`: as many whole
    words as fit, a word over the budget alone cut by characters. A piece of n words has at least
    n tokens, so at most `max_tokens` words are counted at once and each piece costs a few counts
    (a 3.5-million-character line without punctuation stays linear)."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(text, start, end)]
    pieces = []
    i = 0
    while i < len(words):
        window = words[i : i + max_tokens]

        def fits(n: int, window=window) -> bool:
            return count_tokens(text[window[0][0] : window[n - 1][1]]) <= max_tokens

        # Binary search for the most words that fit: counts grow with every word added.
        low, high = 0, len(window)
        while low < high:
            middle = (low + high + 1) // 2
            if fits(middle):
                low = middle
            else:
                high = middle - 1
        if low:
            piece = (window[0][0], window[low - 1][1])
            pieces.append((*piece, count_tokens(text[piece[0] : piece[1]])))
            i += low
        else:
            pieces.extend(_cut_word(text, *words[i], count_tokens, max_tokens))
            i += 1
    return pieces


def _cut_word(
    text: str, start: int, end: int, count_tokens: TokenCounter, max_tokens: int
) -> list[tuple[int, int, int]]:
    """A single word over the budget (a URL, a long run without spaces) in character pieces."""
    pieces = []
    while start < end:
        low, high = 1, end - start
        while low < high:
            middle = (low + high + 1) // 2
            if count_tokens(text[start : start + middle]) <= max_tokens:
                low = middle
            else:
                high = middle - 1
        pieces.append((start, start + low, count_tokens(text[start : start + low])))
        start += low
    return pieces


def _pack(
    sentences: list[tuple[int, int, int]], max_tokens: int, overlap: int
) -> list[list[tuple[int, int, int]]]:
    groups: list[list[tuple[int, int, int]]] = []
    current: list[tuple[int, int, int]] = []
    size = 0
    fresh = 0  # sentences in `current` that no earlier chunk holds
    for sentence in sentences:
        if current and size + sentence[2] > max_tokens and fresh:
            groups.append(current)
            current = current[-overlap:] if overlap else []
            # The carried-over sentence goes only if the new one still fits beside it.
            if current and sum(s[2] for s in current) + sentence[2] > max_tokens:
                current = []
            size = sum(s[2] for s in current)
            fresh = 0
        current.append(sentence)
        size += sentence[2]
        fresh += 1
    if current and fresh:
        groups.append(current)
    return groups
