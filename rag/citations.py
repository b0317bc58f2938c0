"""Citation checking of answers written by an LLM, and the abstention every answerer gives.

In: an LLM reply with [n] markers and the retrieved `Hit`s. Out: for a longer reply, an `Answer`
whose markers point to retrieved passages only (renumbered in order of appearance), each cited
passage with the sentence that best supports the claims citing it, every sentence no cited
passage supports flagged with UNSUPPORTED_MARK and listed, and `short_answer` from the reply's
bold first line; for a short reply, the copied phrase and where its cited passage says it
(`short_reply`, `passage_match`: case, spacing and tone-mark placement aside), or nothing.
Never rewrites quoted text: quotes and passages are slices of the original article.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.scoring import Overlap, flat_idf
from rag.text import canonical, nfc, normalize_tones, split_sentences
from rag.types import Answer, Citation, Hit

ABSTAIN_TEXT = "Không tìm thấy thông tin này trong tài liệu."

# A cited claim whose best sentence covers less than this share of its terms is not trusted.
SUPPORT_THRESHOLD = 0.5
# Written after each sentence of an LLM reply that no cited passage supports.
UNSUPPORTED_MARK = " (chưa có nguồn kiểm chứng)"


def abstention(question: str, mode: str = "extractive") -> Answer:
    return Answer(
        text=ABSTAIN_TEXT,
        citations=(),
        abstained=True,
        mode=mode,
        question=question,
        standalone_question=question,
    )


_MARKER = re.compile(r"\s*\[(\d+)\]")
_LEAD_MARKERS = re.compile(r"(?:\s*\[\d+\])+")
_END_PUNCTUATION = re.compile(r"[.!?…]+$")


@dataclass(frozen=True)
class _Claim:
    start: int  # the sentence in the reply, after any markers that cite the one before
    end: int
    body: str  # the sentence without markers
    markers: list[int]


def verify_citations(
    reply: str,
    hits: Sequence[Hit],
    idf: Callable[[str], float] = flat_idf,
    question: str = "",
    mode: str = "llm",
) -> Answer:
    """Keep markers that point to a retrieved passage, renumber them in order of appearance,
    and give each cited passage the sentence that best supports the claims citing it.

    A sentence is supported when the passages it validly cites cover SUPPORT_THRESHOLD of its
    weighted terms. Any other sentence (no marker, only markers to no passage, or a passage
    that does not say it) gets UNSUPPORTED_MARK and is listed in `Answer.unsupported`; a line
    ending in ":" only introduces what follows and claims nothing itself."""
    text = reply.strip()
    if not text or canonical(ABSTAIN_TEXT).rstrip(".") in canonical(text):
        return abstention(question, mode)
    claims = _claims(text)
    renumber: dict[int, int] = {}
    citing: dict[int, list[str]] = {}
    for claim in claims:
        for given in claim.markers:
            if 1 <= given <= len(hits):
                renumber.setdefault(given, len(renumber) + 1)
                citing.setdefault(given, []).append(claim.body)

    def fix(m: re.Match) -> str:
        given = int(m.group(1))
        return f" [{renumber[given]}]" if given in renumber else ""

    pieces: list[str] = []
    unsupported: list[str] = []
    done = 0
    for claim in claims:
        if not claim.body or claim.body.endswith(":"):
            continue
        cited = [hits[g - 1].chunk.text for g in dict.fromkeys(claim.markers) if g in renumber]
        if cited and _covered(claim.body, " ".join(cited), idf):
            continue
        unsupported.append(claim.body)
        sentence = _MARKER.sub(fix, text[claim.start : claim.end])
        cut = _END_PUNCTUATION.search(sentence)
        at = cut.start() if cut else len(sentence)
        pieces += [
            _MARKER.sub(fix, text[done : claim.start]),
            sentence[:at] + UNSUPPORTED_MARK + sentence[at:],
        ]
        done = claim.end
    pieces.append(_MARKER.sub(fix, text[done:]))
    cleaned = "".join(pieces).strip()

    citations = []
    for given, n in sorted(renumber.items(), key=lambda item: item[1]):
        chunk = hits[given - 1].chunk
        overlap = Overlap(" ".join(citing[given]), idf)
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
        short_answer=short_answer_of(cleaned),
        unsupported=tuple(unsupported),
    )


def _covered(claim: str, passages: str, idf: Callable[[str], float]) -> bool:
    overlap = Overlap(claim, idf)
    # A claim of function words only ("**Có** [1]") has nothing to check against the passage.
    return not overlap.weights or overlap(passages) >= SUPPORT_THRESHOLD


def _claims(text: str) -> list[_Claim]:
    """Each sentence of the reply with the markers citing it. A marker that opens a sentence
    ("... Hội nghị. [1] Sau đó") cites the sentence before it."""
    out: list[_Claim] = []
    for s, e in split_sentences(text):
        lead = _LEAD_MARKERS.match(text, s, e)
        if lead and out:
            out[-1].markers.extend(int(n) for n in re.findall(r"\d+", lead.group()))
            s = lead.end()
        sentence = text[s:e]
        markers = [int(m.group(1)) for m in _MARKER.finditer(sentence)]
        body = _MARKER.sub("", sentence).strip()
        if body or markers:
            out.append(_Claim(s, e, body, markers))
    return out


_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
_BULLET = re.compile(r"\s*(?:[-*•+]|\d+[.)])\s")


def short_answer_of(text: str) -> str | None:
    """The direct answer of an LLM reply: the first bold part of its first line, without
    citation markers. None when that line has no bold part, is a list item (lists have no
    short answer) or was found unsupported."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    m = _BOLD.search(first)
    if not m or _BULLET.match(first) or UNSUPPORTED_MARK.strip() in first:
        return None
    return _MARKER.sub("", m.group(1) or m.group(2)).strip(" .,;:") or None


# Around a copied phrase: what a model adds but the passage may not have at that place.
_EDGES = " \t\n.,;:!?…\"'“”‘’«»()[]*_-–—"
_CLUSTER = re.compile(r".[\u0300-\u036f]*", re.S)  # a character and its combining marks


@dataclass(frozen=True)
class ShortReply:
    """The first line of a reply asked for one copied phrase: the phrase and its markers."""

    phrase: str
    markers: tuple[int, ...]
    abstained: bool = False


def short_reply(reply: str) -> ShortReply | None:
    """The phrase of the reply's first non-empty line (its bold part when it has one) without
    markers, and the [n] markers on that line; None for an empty reply. A reply saying
    ABSTAIN_TEXT is an abstention."""
    if canonical(ABSTAIN_TEXT).rstrip(".") in canonical(reply):
        return ShortReply("", (), abstained=True)
    line = next((x for x in reply.splitlines() if x.strip()), "")
    if not line:
        return None
    markers = tuple(int(n) for n in re.findall(r"\[(\d+)\]", line))
    m = _BOLD.search(line)
    phrase = (m.group(1) or m.group(2)) if m else line
    return ShortReply(_MARKER.sub("", phrase).strip(_EDGES), markers)


def _comparable(text: str) -> tuple[str, list[tuple[int, int]]]:
    """`text` in the form compared (NFC, canonical tone placement, lowercase, each run of
    spaces one space) and, for each of its characters, the original characters it stands for."""
    chars: list[str] = []
    spans: list[tuple[int, int]] = []
    for m in _CLUSTER.finditer(text):
        for c in nfc(m.group()):
            chars.append(c)
            spans.append(m.span())
    toned = normalize_tones("".join(chars))  # same length as its NFC input
    out: list[str] = []
    where: list[tuple[int, int]] = []
    for c, span in zip(toned, spans, strict=True):
        lower = c.lower()
        c = lower if len(lower) == 1 else c
        if c.isspace():
            if out and out[-1] == " ":
                where[-1] = (where[-1][0], span[1])
                continue
            c = " "
        out.append(c)
        where.append(span)
    return "".join(out), where


def passage_match(phrase: str, passage: str) -> tuple[int, int] | None:
    """Offsets in `passage` of its first occurrence of `phrase` as whole words, compared
    without regard to case, spacing or where the tone mark sits (hoà = hòa); None if absent."""
    wanted, _ = _comparable(phrase.strip(_EDGES))
    if not wanted.strip():
        return None
    text, where = _comparable(passage)
    at = text.find(wanted)
    while at >= 0:
        end = at + len(wanted)
        if (at == 0 or not text[at - 1].isalnum()) and (
            end == len(text) or not text[end].isalnum()
        ):
            return where[at][0], where[end - 1][1]
        at = text.find(wanted, at + 1)
    return None
