"""Questions about the collection itself, answered from the documents' metadata.

In: a collection question (how many articles, which come from an outlet, a date or an author,
who wrote / when or where one was published, what they are about) and the `Catalog` of the
indexed documents. Out: an `Answer` citing each document it names: the sentence of the article
that shows the value asked (its byline, date line, outlet), else its title in its first passage.
Never guesses: a value the metadata does not hold is said to be missing, and a question whose
words name no document is left to the other answerers (None).
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

from rag.dates import display_date
from rag.filters import Filters, columns
from rag.text import canonical, fold, has_diacritics, split_sentences, word_tokens
from rag.types import Answer, Chunk, Citation

# Beyond this many documents a list says how many more there are instead of naming them.
MAX_LISTED = 10
# Share of the question's remaining words that an article's title must hold to be the one meant.
TITLE_MATCH = 0.6


# Catalogs of the snapshots still in use; one dropped after an ingest takes its catalogs along.
_BUILT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class DocInfo:
    doc_id: str
    title: str
    outlet: str | None
    date: str | None  # ISO
    author: str | None
    chunks: tuple[Chunk, ...]  # its passages in article order

    @property
    def first(self) -> Chunk | None:
        return self.chunks[0] if self.chunks else None


@dataclass(frozen=True)
class Catalog:
    docs: tuple[DocInfo, ...]

    @classmethod
    def from_snapshot(cls, snapshot, filters: Filters | None = None) -> Catalog:
        """The documents of a store snapshot (those the page's filters keep), by doc_id; built
        once per snapshot and filters, since every question is routed with it."""
        built = _BUILT.setdefault(snapshot, {})
        if filters not in built:
            built[filters] = cls._build(snapshot, filters)
        return built[filters]

    @classmethod
    def _build(cls, snapshot, filters: Filters | None) -> Catalog:
        docs = []
        for doc_id, record in sorted(snapshot.docs.items()):
            chunks = tuple(snapshot.chunks[snapshot.position[c]] for c in record.get("chunks", []))
            if chunks:
                docs.append(
                    DocInfo(
                        doc_id,
                        record.get("title") or doc_id,
                        record.get("outlet"),
                        record.get("date"),
                        record.get("author"),
                        chunks,
                    )
                )
        if filters:
            docs = [d for d, kept in zip(docs, filters.mask(columns(docs)), strict=True) if kept]
        return cls(tuple(docs))

    @cached_property
    def names(self) -> tuple[str, ...]:
        """Outlets and authors: the metadata values a question may name."""
        found = {d.outlet for d in self.docs} | {d.author for d in self.docs}
        return tuple(sorted(n for n in found if n))

    def mentioned(self, question: str) -> list[DocInfo] | None:
        """Documents whose outlet, author or date the question names; None when it names none."""
        form = _form(question)
        marked = has_diacritics(question)
        fields = []
        for attr in ("outlet", "author"):
            values = {getattr(d, attr) for d in self.docs if getattr(d, attr)}
            named = {v for v in values if _contains(form, v, marked)}
            if named:
                fields.append(lambda d, attr=attr, named=named: getattr(d, attr) in named)
        when = question_date(form)
        if when is not None:
            fields.append(lambda d: _date_matches(d.date, when))
        if not fields:
            return None
        return [d for d in self.docs if all(f(d) for f in fields)]

    def titled(self, topic: str) -> list[DocInfo]:
        """Documents whose title holds most of the words of `topic`, best first."""
        words = set(word_tokens(fold(topic)))
        if not words:
            return []
        scored = [(len(words & set(word_tokens(fold(d.title)))) / len(words), d) for d in self.docs]
        best = max((s for s, _ in scored), default=0.0)
        return [d for s, d in scored if s >= TITLE_MATCH and s == best]


def answer_collection(
    ask: str,
    question: str,
    topic: str,
    catalog: Catalog,
    about: Callable[[str], str | None] = lambda topic: None,
) -> Answer | None:
    """The answer to a collection question of kind `ask` ("count", "list", "author", "date",
    "outlet"). A question about one article names it by words of its title, else by what it is
    about: `about(topic)` gives the doc_id of the article the topic retrieves first. None when
    no document is named that way."""
    mentioned = catalog.mentioned(question)
    if ask in ("count", "list"):
        if ask == "list" and mentioned == []:
            return None  # "which article was published in 1937": maybe one the text mentions
        docs = list(catalog.docs) if mentioned is None else mentioned
        return _listing(ask, docs, mentioned is not None)
    if topic:
        docs = catalog.titled(topic)
        if not docs:
            doc_id = about(topic)
            docs = [d for d in catalog.docs if d.doc_id == doc_id]
        if not docs:
            return None
    else:
        docs = list(catalog.docs) if mentioned is None else mentioned
    if not docs:
        return None
    lines, cites = [], []
    for d in docs[:MAX_LISTED]:
        n = len(cites) + 1
        value = {"author": d.author, "date": d.date, "outlet": d.outlet}[ask]
        shown, cite = _cite_value(d, n, value, ask == "date")
        lines.append(f"- «{d.title}»: {_field_text(ask, shown)} [{n}]")
        cites.append(cite)
    lines += _more(len(docs))
    return _answer("\n".join(lines), cites)


def _listing(ask: str, docs: list[DocInfo], filtered: bool) -> Answer:
    n_docs = len(docs)
    if ask == "count":
        where = "khớp với câu hỏi" if filtered else "trong bộ tài liệu"
        head = f"Có **{n_docs}** bài viết {where}" + (":" if docs else ".")
    elif filtered:
        head = f"{n_docs} bài viết khớp với câu hỏi:"
    else:
        head = f"Bộ tài liệu có {n_docs} bài viết:"
    lines, cites = [head], []
    for d in docs[:MAX_LISTED]:
        n = len(cites) + 1
        lines.append(f"- «{d.title}»{_where(d)} [{n}]")
        cites.append(_cite(d, n))
    lines += _more(n_docs)
    return _answer("\n".join(lines), cites)


def _field_text(ask: str, shown: str | None) -> str:
    if ask == "author":
        return f"tác giả **{shown}**" if shown else "bài không ghi tên tác giả"
    if ask == "date":
        return f"đăng ngày **{shown}**" if shown else "bài không ghi ngày đăng"
    return f"nguồn **{shown}**" if shown else "bài không ghi nguồn (tên báo)"


def _where(d: DocInfo) -> str:
    parts = [p for p in (d.outlet, display_date(d.date), d.author and f"tác giả {d.author}") if p]
    return f" ({', '.join(parts)})" if parts else ""


def _more(n_docs: int) -> list[str]:
    return [f"- … và {n_docs - MAX_LISTED} bài viết khác."] if n_docs > MAX_LISTED else []


def _answer(text: str, citations: Sequence[Citation]) -> Answer:
    return Answer(text=text, citations=tuple(citations), abstained=False, mode="extractive")


def _cite(d: DocInfo, n: int) -> Citation:
    """Citation [n] of the document: its title where the first passage holds it, else that
    passage's first sentence."""
    chunk = d.first
    at = chunk.text.find(d.title) if d.title else -1
    if at >= 0:
        start, end = at, at + len(d.title)
    else:
        start, end = (split_sentences(chunk.text) or [(0, len(chunk.text))])[0]
    return Citation.of(chunk, n, chunk.start + start, chunk.start + end, supported=True)


def _cite_value(
    d: DocInfo, n: int, value: str | None, is_date: bool
) -> tuple[str | None, Citation]:
    """The value as the article writes it and citation [n] of the sentence that shows it; the
    value as stored (a date in Vietnamese order) and the title when the text does not show it."""
    if not value:
        return None, _cite(d, n)
    pattern = _written_date(value) if is_date else re.compile(re.escape(value))
    for chunk in d.chunks:
        m = pattern.search(chunk.text)
        if m:
            start, end = next(
                ((s, e) for s, e in split_sentences(chunk.text) if s <= m.start() < e),
                m.span(),
            )
            cite = Citation.of(chunk, n, chunk.start + start, chunk.start + end, supported=True)
            return m.group(), cite
    return (display_date(value) if is_date else value), _cite(d, n)


def _written_date(iso: str) -> re.Pattern[str]:
    """The ways an article writes this full date: 7/3/2022, 07-03-2022, ngày 7 tháng 3 năm 2022."""
    year, month, day = (int(p) for p in iso.split("-"))
    return re.compile(
        rf"(?<!\d)0?{day}[/.-]0?{month}[/.-]{year}(?!\d)"
        rf"|ngày\s+0?{day}\s+tháng\s+0?{month}\s+năm\s+{year}(?!\d)",
        re.IGNORECASE,
    )


def _form(text: str) -> str:
    return canonical(text) if has_diacritics(text) else fold(text).lower()


def _contains(form: str, name: str, marked: bool) -> bool:
    """Whether the question names `name`: as written, or run together or spelled out without
    spaces, marks and "và"/"&" ("Kinh tế và Đô thị", "kinh te do thi" name "Kinhtedothi")."""
    written = canonical(name) if marked else fold(canonical(name))
    if re.search(rf"(?<!\w){re.escape(written)}(?!\w)", form) is not None:
        return True
    letters = "".join(w for w in _WORDS.findall(fold(name).lower()) if w not in _JOINS)
    words = [w for w in _WORDS.findall(fold(form).lower()) if w not in _JOINS]
    return len(letters) >= 4 and any(
        "".join(words[i:j]) == letters
        for i in range(len(words))
        for j in range(i + 1, len(words) + 1)
    )


_WORDS = re.compile(r"[^\W_]+")
_JOINS = frozenset(("va", "and"))


# --- dates -----------------------------------------------------------------------------------

_DMY = re.compile(r"(?<!\d)(\d{1,2})[/-](\d{1,2})(?:[/-](\d{4}))?(?![\d/-])")
_YMD = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_WORDS_DATE = re.compile(
    r"(?:ngày|ngay)\s+(\d{1,2})\s+(?:tháng|thang)\s+(\d{1,2})(?:\s+(?:năm|nam)\s+(\d{4}))?"
)
_MONTH = re.compile(r"(?:tháng|thang)\s+(\d{1,2})(?:\s*(?:/|năm|nam)\s*(\d{4}))?")
_YEAR = re.compile(r"(?<![\d/-])((?:19|20)\d{2})(?![\d/-])")


def question_date(text: str) -> tuple[int | None, int | None, int | None] | None:
    """(day, month, year) named in a question, any part unknown as None; None if no date."""
    m = _YMD.search(text)
    if m:
        return int(m[3]), int(m[2]), int(m[1])
    m = _WORDS_DATE.search(text) or _DMY.search(text)
    if m:
        return int(m[1]), int(m[2]), int(m[3]) if m[3] else None
    m = _MONTH.search(text)
    if m:
        return None, int(m[1]), int(m[2]) if m[2] else None
    m = _YEAR.search(text)
    if m:
        return None, None, int(m[1])
    return None


def _date_matches(iso: str | None, when: tuple[int | None, int | None, int | None]) -> bool:
    if not iso:
        return False
    year, month, day = (int(p) for p in iso.split("-"))
    return all(
        want is None or want == got for want, got in zip(when, (day, month, year), strict=True)
    )


__all__ = ["Catalog", "DocInfo", "answer_collection", "display_date", "question_date"]
