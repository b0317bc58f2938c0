"""Answers, citations and citation verification.

In: a standalone question and the retrieved `Hit`s. Out: an `Answer` whose every claim carries
a citation [n] to a retrieved passage, with the supporting sentence and its offsets in the
original file. The extractive answerer (rag/extractive.py) builds its own; an LLM reply is
verified here: markers to no passage are removed, weak support is flagged.
Never rewrites quoted text: quotes and passages are slices of the original article.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rag.chunking import Chunk
from rag.retrieval import Hit
from rag.scoring import Overlap, flat_idf
from rag.text import canonical, split_sentences

ABSTAIN_TEXT = "Không tìm thấy thông tin này trong tài liệu."

# A cited claim whose best sentence covers less than this share of its terms is not trusted.
SUPPORT_THRESHOLD = 0.5


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
    # a list or a summary.
    short_answer: str | None = None
    notice: str | None = None  # e.g. the LLM could not be reached
    hits: tuple[Hit, ...] = ()

    def to_json(self) -> dict:
        return {
            "answer": self.text,
            "short_answer": self.short_answer,
            "abstained": self.abstained,
            "mode": self.mode,
            "citations": [c.to_json() for c in self.citations],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


def abstention(question: str, mode: str = "extractive") -> Answer:
    return Answer(
        text=ABSTAIN_TEXT,
        citations=(),
        abstained=True,
        mode=mode,
        question=question,
        standalone_question=question,
    )


# ---------------------------------------------------------------------------------------------
# Citation verification (LLM replies)

_MARKER = re.compile(r"\s*\[(\d+)\]")


def verify_citations(
    reply: str,
    hits: Sequence[Hit],
    idf: Callable[[str], float] = flat_idf,
    question: str = "",
    mode: str = "llm",
) -> Answer:
    """Keep markers that point to a retrieved passage, renumber them in order of appearance,
    and give each cited passage the sentence that best supports the claims citing it."""
    text = reply.strip()
    if not text or canonical(ABSTAIN_TEXT).rstrip(".") in canonical(text):
        return abstention(question, mode)
    renumber: dict[int, int] = {}
    claims: dict[int, list[str]] = {}
    for claim, markers in _claims(text):
        for given in markers:
            if 1 <= given <= len(hits):
                renumber.setdefault(given, len(renumber) + 1)
                claims.setdefault(given, []).append(claim)

    def fix(m: re.Match) -> str:
        given = int(m.group(1))
        return f" [{renumber[given]}]" if given in renumber else ""

    cleaned = _MARKER.sub(fix, text).strip()
    citations = []
    for given, n in sorted(renumber.items(), key=lambda item: item[1]):
        chunk = hits[given - 1].chunk
        claim = " ".join(claims[given])
        overlap = Overlap(claim, idf)
        best = max(
            ((overlap(chunk.text[s:e]), s, e) for s, e in split_sentences(chunk.text)),
            default=(0.0, 0, len(chunk.text)),
        )
        cov, s, e = best
        citations.append(
            Citation.of(chunk, n, chunk.start + s, chunk.start + e, cov >= SUPPORT_THRESHOLD)
        )
    return Answer(
        text=cleaned,
        citations=tuple(citations),
        abstained=False,
        mode=mode,
        question=question,
        standalone_question=question,
    )


def _claims(text: str) -> list[tuple[str, list[int]]]:
    """(sentence without markers, the markers citing it) for each sentence of the reply.
    A marker that opens a sentence ("... Hội nghị. [1] Sau đó") cites the sentence before it."""
    out: list[tuple[str, list[int]]] = []
    for s, e in split_sentences(text):
        sentence = text[s:e]
        lead = re.match(r"(?:\s*\[\d+\])+", sentence)
        if lead and out:
            out[-1][1].extend(int(n) for n in re.findall(r"\d+", lead.group()))
            sentence = sentence[lead.end() :]
        markers = [int(m.group(1)) for m in _MARKER.finditer(sentence)]
        claim = _MARKER.sub("", sentence).strip()
        if claim or markers:
            out.append((claim, markers))
    return out
