"""Sentence-aware chunks of an `Article`, with offsets into its original text.

In: an `Article` (original text + kept body blocks) and a token counter of the embedding model.
Out: `Chunk`s of about `max_tokens` tokens, one sentence of overlap, never cutting a sentence and
never crossing a removed line. A chunk's `text` is always `article.text[start:end]`, untouched.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from rag.documents import Article
from rag.text import split_sentences

TokenCounter = Callable[[str], int]


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    index: int
    text: str
    start: int
    end: int
    title: str
    outlet: str | None = None
    date: str | None = None
    author: str | None = None

    @property
    def indexed_text(self) -> str:
        """What is embedded and indexed: the title gives every passage its article's topic."""
        return f"{self.title}\n{self.text}" if self.title else self.text

    def to_metadata(self) -> dict[str, str | int]:
        """Flat metadata as Chroma stores it (no None values; dates also as a sortable int)."""
        return {
            "doc_id": self.doc_id,
            "index": self.index,
            "start": self.start,
            "end": self.end,
            "title": self.title,
            "outlet": self.outlet or "",
            "date": self.date or "",
            "date_int": date_to_int(self.date),
            "author": self.author or "",
        }

    @classmethod
    def from_metadata(cls, chunk_id: str, text: str, meta: dict) -> Chunk:
        return cls(
            chunk_id=chunk_id,
            doc_id=meta["doc_id"],
            index=int(meta["index"]),
            text=text,
            start=int(meta["start"]),
            end=int(meta["end"]),
            title=meta.get("title", ""),
            outlet=meta.get("outlet") or None,
            date=meta.get("date") or None,
            author=meta.get("author") or None,
        )


def date_to_int(date: str | None) -> int:
    """'2022-03-07' -> 20220307; 0 when unknown, so range filters can exclude undated articles."""
    return int(date.replace("-", "")) if date else 0


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
        sentences = [
            (block_start + s, block_start + e, count_tokens(block[s:e]))
            for s, e in split_sentences(block)
        ]
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
