"""Cloze questions written from the tune half's own paragraphs, to train the reader on more.

In: SQuAD data already cut to its tune half (`eval.reader_train` passes it). Each sentence of each
paragraph is tagged by underthesea (POS and NER); a span of it becomes the answer of a question
made of its clause with the span replaced by the question words of its type: a person ("ai"), a
place after "ở", "tại" … ("đâu"), a count ("bao nhiêu" before its
unit), a year or day ("năm nào"), or a noun phrase after a verb ("gì"). The clause's other words
stay as written. A question is kept only when an independent reader, the span rules of
`rag.direct` (`best_span` over the sentence, with `rag.spans`' typed spans for typed questions),
finds the same span. Out: examples in `eval.reader_train`'s form (the passage: the sentence and
its neighbours), kept in `cache` when given.
Never reads the held-out half, the shipped articles or any other QA set.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from eval.metrics import normalize

# underthesea POS tags of the words a noun phrase is made of.
_NOUNISH = frozenset({"N", "Np", "Nc", "Nu", "M", "A"})
_PLACE_BEFORE = frozenset({"ở", "tại", "đến", "từ", "về"})
_DATE_BEFORE = frozenset({"năm", "tháng", "ngày"})
_MAX_WORDS = 6  # of an answer span
_CLAUSE = re.compile(r"[;:]\s|,\s|\s[-–]\s")
_MIN_CONTEXT = 6  # words of its clause besides the span, else the whole sentence is the question


def _words(sentence: str) -> list[tuple[int, int, str, str]] | None:
    """(start, end, POS, NER) of the sentence's underthesea words; None when a word cannot be
    found in the sentence as written (compared in `canonical` form, which keeps offsets:
    underthesea rewrites "uỷ" as "ủy")."""
    from underthesea import ner

    from rag.text import canonical

    out, at = [], 0
    form = canonical(sentence)
    for word, pos, _chunk, tag in ner(sentence):
        start = form.find(canonical(word), at)
        if start < 0:
            return None
        out.append((start, start + len(word), pos, tag))
        at = start + len(word)
    return out


def _spans(sentence: str, words) -> list[tuple[int, int, str]]:
    """(start, end, question words) of the sentence's answerable spans."""
    found = []
    k = 0
    while k < len(words):
        start, end, pos, tag = words[k]
        before = sentence[words[k - 1][0] : words[k - 1][1]].lower() if k else ""
        if tag.startswith("B-") and sentence[start].isupper():
            kind, last = tag[2:], k
            while last + 1 < len(words) and words[last + 1][3] == f"I-{kind}":
                last += 1
            # A whole name: every word capitalised, none capitalised just before it.
            whole = all(sentence[w[0]].isupper() for w in words[k : last + 1]) and not (
                before[:1].isalpha() and sentence[words[k - 1][0]].isupper()
            )
            # ORG runs are mostly cut from a longer name ("Đảng" of "Đảng ủy Khối"): not asked.
            ask = "ai" if kind == "PER" else None
            if kind == "LOC" and before in _PLACE_BEFORE:  # elsewhere its tag is often wrong
                ask = "đâu"
            if ask and whole:
                found.append((start, words[last][1], ask))
            k = last + 1
            continue
        if any(c.isdigit() for c in sentence[start:end]) and pos in ("M", "N"):
            if before in _DATE_BEFORE:
                found.append((start, end, "nào"))
            elif k + 1 < len(words) and words[k + 1][2] == "N":
                found.append((start, end, "bao nhiêu"))
        elif pos == "V" and k + 1 < len(words) and words[k + 1][2] in _NOUNISH - {"A"}:
            last = k + 1
            while (
                last + 1 < len(words)
                and words[last + 1][2] in _NOUNISH
                and last + 1 - k <= _MAX_WORDS
            ):
                last += 1
            # One syllable is mostly a classifier or pronoun cut from its phrase ("sự", "ông").
            if len(sentence[words[k + 1][0] : words[last][1]].split()) > 1:
                found.append((words[k + 1][0], words[last][1], "gì"))
        k += 1
    seen: set[tuple[int, int]] = set()
    return [
        x
        for x in found
        if x[:2] not in seen
        and not seen.add(x[:2])
        # whole tokens of the text: not "06" of "06-Ctr/ĐUK"
        and not (x[0] and (sentence[x[0] - 1].isalnum() or sentence[x[0] - 1] in "-/"))
        and not (x[1] < len(sentence) and (sentence[x[1]].isalnum() or sentence[x[1]] in "-/"))
    ]


def _question(sentence: str, start: int, end: int, ask: str) -> str:
    """The span's clause (or its sentence, when the clause says too little) with the span
    replaced by `ask`, as a question."""
    cuts = [0] + [m.end() for m in _CLAUSE.finditer(sentence)] + [len(sentence)]
    left = max(k for k, c in enumerate(cuts) if c <= start)
    right = min((k for k, c in enumerate(cuts) if c >= end), default=len(cuts) - 1)
    # Neighbouring clauses join, the next one first, until enough words surround the span.
    while len(sentence[cuts[left] : cuts[right]].split()) - len(
        sentence[start:end].split()
    ) < _MIN_CONTEXT and (left > 0 or right < len(cuts) - 1):
        if right < len(cuts) - 1:
            right += 1
        else:
            left -= 1
    a, b = cuts[left], cuts[right]
    text = f"{sentence[a:start]}{ask}{sentence[end:b]}".strip().rstrip(".,;:!?–- ").strip()
    return text[:1].upper() + text[1:] + "?"


def _agrees(question: str, sentence: str, start: int, end: int) -> bool:
    """Whether the span rules (`rag.direct.best_span`) find the same span for the question."""
    from rag.direct import best_span
    from rag.question import question_kind
    from rag.spans import typed_spans

    kind = question_kind(question)
    typed = typed_spans(kind, sentence, question) if kind else []
    found = best_span(question, sentence, typed)
    return found is not None and normalize(sentence[found[0] : found[1]]) == normalize(
        sentence[start:end]
    )


def synthetic(data: dict, cache: Path | None = None) -> list:
    """Cloze examples (article, question, paragraph, start, end, references) of every paragraph
    of `data` that the span rules agree with."""
    from rag.text import split_sentences

    paragraphs = [
        (a, p.get("context", ""))
        for a, article in enumerate(data["data"])
        for p in article.get("paragraphs", [])
    ]
    # Named by the paragraphs and this module's code: a changed rule writes a new file.
    made = json.dumps(paragraphs, ensure_ascii=False).encode() + Path(__file__).read_bytes()
    key = hashlib.sha1(made).hexdigest()[:16]
    path = cache / f"synthetic-{key}.json" if cache else None
    if path and path.exists():
        return [tuple(x[:5]) + (tuple(x[5]),) for x in json.loads(path.read_text())]
    out = []
    for a, context in paragraphs:
        bounds = split_sentences(context)
        for k, (s, e) in enumerate(bounds):
            sentence = context[s:e]
            words = _words(sentence)
            if not words:
                continue
            # The passage read: the sentence and its neighbours (a short, cheap window).
            lo, hi = bounds[max(k - 1, 0)][0], bounds[min(k + 1, len(bounds) - 1)][1]
            for start, end, ask in _spans(sentence, words):
                question = _question(sentence, start, end, ask)
                if _agrees(question, sentence, start, end):
                    ref = sentence[start:end]
                    at = s - lo
                    out.append((a, question, context[lo:hi], at + start, at + end, (ref,)))
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out, ensure_ascii=False))
    return out
