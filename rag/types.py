"""The values passed between stages, in one place so every layer can import them.

In: the standard library and `rag.filters` (numpy) alone. Out: frozen dataclasses: an `Article`
(a loaded file), its `Chunk`s, `Filters` on metadata (`rag.filters` states their rule; they are
named here with the other values), retrieval `Hit`s, an `Answer` with its `Citation`s, an
`IngestReport` with its per-file `FileOutcome`s, the indexed `DocumentInfo`s and the assistant's
`Status`. Never: behaviour beyond (de)serialising these values, or an
import of a stage module (so `rag.ui` loads no search library by importing them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from rag.filters import Filters as Filters
from rag.filters import filter_fields


@dataclass(frozen=True)
class Article:
    """One loaded file. `body` spans and `title` are exact substrings of `text`."""

    doc_id: str
    source: str
    text: str
    title: str
    body: tuple[tuple[int, int], ...]
    author: str | None
    outlet: str | None
    date: str | None
    content_hash: str


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
            **filter_fields(self),
            "index": self.index,
            "start": self.start,
            "end": self.end,
            "title": self.title,
            "date": self.date or "",
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


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float
    rank: int


@dataclass(frozen=True)
class Citation:
    n: int
    doc_id: str
    title: str
    outlet: str | None
    date: str | None
    passage: str  # the cited chunk, original text
    passage_start: int
    passage_end: int
    quote: str  # the supporting sentence, original text
    start: int  # offsets of the quote in the original file text
    end: int
    supported: bool
    chunk_id: str
    span: tuple[int, int] | None = None  # the answering span in the file, for bold

    @classmethod
    def of(
        cls,
        chunk: Chunk,
        n: int,
        start: int,
        end: int,
        supported: bool,
        span: tuple[int, int] | None = None,
    ) -> Citation:
        """Citation [n] of `chunk`, quoting its file text from `start` to `end`."""
        return cls(
            n=n,
            doc_id=chunk.doc_id,
            title=chunk.title,
            outlet=chunk.outlet,
            date=chunk.date,
            passage=chunk.text,
            passage_start=chunk.start,
            passage_end=chunk.end,
            quote=chunk.text[start - chunk.start : end - chunk.start],
            start=start,
            end=end,
            supported=supported,
            chunk_id=chunk.chunk_id,
            span=span,
        )

    def to_json(self) -> dict:
        return {
            "n": self.n,
            "doc_id": self.doc_id,
            "title": self.title,
            "outlet": self.outlet,
            "date": self.date,
            "passage": self.passage,
            "quote": self.quote,
            "start": self.start,
            "end": self.end,
            "supported": self.supported,
        }


@dataclass(frozen=True)
class Answer:
    text: str
    citations: tuple[Citation, ...]
    abstained: bool
    mode: str  # "extractive" or "llm"
    timings_ms: dict[str, float] = field(default_factory=dict)
    question: str = ""
    standalone_question: str = ""
    span: str | None = None  # the answering span's text, when the answerer marked one
    # The direct answer the page shows first, in bold (DESIGN.md); None for an abstention,
    # a list, a summary or small talk.
    short_answer: str | None = None
    notice: str | None = None  # e.g. the LLM could not be reached
    hits: tuple[Hit, ...] = ()
    # Sentences of an LLM reply that no cited passage supports (each is marked in `text`).
    unsupported: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {
            "answer": self.text,
            "short_answer": self.short_answer,
            "abstained": self.abstained,
            "mode": self.mode,
            "citations": [c.to_json() for c in self.citations],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    chunks: int = 0
    embedded: int = 0  # texts the model embedded (vector-cache misses), not in the JSON
    errors: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "added": self.added,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "chunks": self.chunks,
            "errors": [{"path": p, "reason": r} for p, r in self.errors],
        }


# What an ingest did with one file: added, updated (its content changed), unchanged, or refused.
Outcome = Literal["added", "updated", "unchanged", "refused"]


@dataclass(frozen=True)
class FileOutcome:
    """One file of an ingest or an upload, as the page and the CLI report it."""

    name: str  # as the user gave it: an upload's own file name, or the path under the folder
    status: Outcome
    doc_id: str | None = None  # its id in the index (None when refused before it got one)
    chunks: int = 0
    reason: str = ""  # why it was refused, one Vietnamese line


@dataclass(frozen=True)
class Ingested:
    """An ingest: the counts of the `ingest --json` contract and each file's outcome."""

    report: IngestReport
    files: tuple[FileOutcome, ...]

    @property
    def refused(self) -> tuple[FileOutcome, ...]:
        return tuple(f for f in self.files if f.status == "refused")


@dataclass(frozen=True)
class DocumentInfo:
    """One indexed document, as the document list shows it."""

    doc_id: str
    title: str
    outlet: str | None
    date: str | None
    chunks: int


@dataclass(frozen=True)
class Status:
    """What runs and how far the index is: `python -m rag info` and the page's status line."""

    documents: int
    chunks: int
    embedding_model: str  # the model actually embedding
    embedding_fallback: bool
    vectors_pending: int
    llm: str | None  # the LLM's model and endpoint, never its credentials
    retrieval_mode: str
    data_dir: str
    corpus: str | None  # the folder the index mirrors
    # The extractive reader: 'bundled' or its weights' path, 'off', or 'tắt: <file>: <why>'.
    reader: str = "off"
    requested_model: str = ""  # RAG_EMBEDDING_MODEL, which a fallback replaces
    embedding_reason: str = ""  # one line: which model embeds and why (a fallback's cause)
    indexing: tuple[str, int, int] | None = None  # a background ingest's (stage, done, total)
    error: str | None = None  # why the last background ingest failed

    @property
    def busy(self) -> bool:
        """The index is still being built: documents loading or vectors being made."""
        return self.indexing is not None or self.vectors_pending > 0

    def to_json(self) -> dict:
        """The `info --json` contract of DESIGN.md."""
        return {
            "documents": self.documents,
            "chunks": self.chunks,
            "embedding_model": self.embedding_model,
            "embedding_fallback": self.embedding_fallback,
            "llm": self.llm,
            "retrieval_mode": self.retrieval_mode,
            "data_dir": self.data_dir,
            "vectors_pending": self.vectors_pending,
            "corpus": self.corpus,
            "reader": self.reader,
        }
