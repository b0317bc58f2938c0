"""Sentences of passages, with their offsets in the original file.

In: `Chunk`s (a document's passages, for summaries) or ranked `Hit`s (for the answerer). Out:
`Sentence`s, each once, whose text is a slice of the chunk and whose offsets point into the file.
Never changes the text of a sentence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rag.text import split_sentences
from rag.types import Chunk, Hit


@dataclass(frozen=True)
class Sentence:
    chunk: Chunk
    start: int  # offsets in the file
    end: int
    text: str
    rank: int = 1  # rank of the retrieved passage it came from (1 for a document's own)


def _sentences(pairs: Iterable[tuple[Chunk, int]]) -> list[Sentence]:
    seen: set[tuple[str, int]] = set()
    out: list[Sentence] = []
    for chunk, rank in pairs:
        for s, e in split_sentences(chunk.text):
            key = (chunk.doc_id, chunk.start + s)
            if key in seen:  # overlapping passages share sentences
                continue
            seen.add(key)
            out.append(Sentence(chunk, chunk.start + s, chunk.start + e, chunk.text[s:e], rank))
    return out


def document_sentences(chunks: Sequence[Chunk]) -> list[Sentence]:
    """The sentences of a document's passages once each, in article order."""
    return _sentences((c, 1) for c in sorted(chunks, key=lambda c: c.start))


def candidate_sentences(hits: Sequence[Hit]) -> list[Sentence]:
    """Every sentence of the retrieved passages once, in rank order."""
    return _sentences((h.chunk, h.rank) for h in hits)
