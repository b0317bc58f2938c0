"""The question-answering chain under `rag.Assistant` (rag/assistant.py).

In: a question and the conversation so far. Out: a streamed `Answer` (text deltas, then the
answer with verified citations): standalone question -> retrieval -> extractive or LLM answer ->
citation verification. With an LLM the extractive answer comes first as a `Draft`; a factoid's
LLM answer is one copied phrase, kept only where its cited passage says it, other questions'
answers stream and are checked sentence by sentence. An LLM that cannot be reached, times out,
stops mid-way, cites nothing or a passage it was not given, or copies what its passage does not
say never fails a question: the extractive answer is given with a one-line notice.
Never shows or logs the LLM's credentials: only its endpoint (scheme, host, port) and
redacted errors.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from langchain_core.runnables import RunnableLambda

from rag.answer.factoid import (
    ANSWER_WORDS,
    SUPPORT_MIN_WORDS,
    ExtractiveAnswerer,
    cosine_similarity,
    excerpt,
    support,
)
from rag.answer.question import YES_NO, Question, shape_of
from rag.answer.shaped import answer_shaped
from rag.answertype import NONE, agreement
from rag.citations import abstention, passage_match, short_reply, verify_citations
from rag.config import Settings
from rag.errors import one_line
from rag.followup import rewrite_follow_up
from rag.prompts import answer_messages, condense_messages, short_messages
from rag.question import terms
from rag.reader import reader_for
from rag.retrieval import Retriever, check_query
from rag.router import Router
from rag.scoring import idf_from_counts
from rag.text import split_sentences
from rag.types import Answer, Citation, Filters, Hit

log = logging.getLogger(__name__)

History = Sequence[tuple[str, str]]

LLM_UNREACHABLE = "Không kết nối được mô hình ngôn ngữ; đây là câu trả lời trích xuất."
LLM_INCOMPLETE = (
    "Mô hình ngôn ngữ trả lời dở dang hoặc quá RAG_LLM_TIMEOUT; đây là câu trả lời trích xuất."
)
LLM_PENDING = "Mô hình ngôn ngữ đang trả lời; trong khi chờ, đây là câu trả lời trích xuất."
LLM_NOT_IN_PASSAGE = (
    "Câu trả lời của mô hình ngôn ngữ không có trong đoạn nó trích dẫn; "
    "đây là câu trả lời trích xuất."
)
LLM_ECHO = (
    "Câu trả lời của mô hình ngôn ngữ chỉ nhắc lại lời câu hỏi; đây là câu trả lời trích xuất."
)
LLM_UNSUPPORTED = (
    "Các đoạn mô hình ngôn ngữ trích dẫn không xác nhận câu trả lời của nó; "
    "đây là câu trả lời trích xuất."
)
LLM_WRONG_TYPE = (
    "Câu trả lời của mô hình ngôn ngữ không thuộc loại câu hỏi hỏi; đây là câu trả lời trích xuất."
)
LLM_NOT_FOUND = (
    "Mô hình ngôn ngữ không tìm thấy câu trả lời trong các đoạn; đây là câu trả lời trích xuất."
)
# Passages the LLM reads: a small model on two CPU threads reads about 15 prompt tokens a
# second on a loaded machine (docs/benchmarks.md), so each passage costs seconds. Three was
# chosen for that cost, not tuned on any question set.
LLM_PASSAGES = 3
# A short answer is a phrase: a longer first line is not one. The cap also stops a server that
# goes on generating after the client has closed the stream.
SHORT_MAX_TOKENS = 48


class IncompleteReply(Exception):
    """The LLM's stream stopped before its end or ran past RAG_LLM_TIMEOUT as a whole."""


class Unchecked(Exception):
    """The LLM's short answer is not where it says: the notice says what went wrong."""

    def __init__(self, notice: str, reason: str):
        super().__init__(reason)
        self.notice = notice


@dataclass(frozen=True)
class Delta:
    """A piece of answer text as it is produced."""

    text: str


@dataclass(frozen=True)
class Draft:
    """The extractive answer, shown while the LLM answers; the final `Answer` replaces it.
    Its `notice` says that the LLM's answer is still coming."""

    answer: Answer


@dataclass(frozen=True)
class Reset:
    """The text streamed so far is abandoned (the LLM failed); the final Answer replaces it."""

    notice: str


def make_llm(settings: Settings):
    """LangChain's OpenAI-compatible chat model (vLLM, Ollama, llama.cpp, LM Studio, APIs)."""
    from langchain_openai import ChatOpenAI

    # The client appends "/chat/completions" to the URL's text, so a query string left in it
    # would land inside the path: its parameters go apart. user:password@ stays (HTTP Basic).
    parts = urlsplit((settings.llm_base_url or "").strip())
    _HTTP_LOG_FILTER.secrets.update(settings.llm_secrets)
    return ChatOpenAI(
        base_url=urlunsplit(parts._replace(query="", fragment="")),
        default_query=dict(parse_qsl(parts.query)) or None,
        model=settings.llm_model or "default",
        api_key=settings.llm_api_key or "not-needed",
        temperature=0,
        timeout=settings.llm_timeout,
        max_retries=0,
        streaming=True,
    )


# ---------------------------------------------------------------------------------------------
# Credentials out of errors and logs

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]*@")
_QUERY = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s?#]*)\?[^\s#\"'<>]*")
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}")
_KEY_VALUE = re.compile(
    r"(?i)\b([\w-]*(?:api[-_]?key|token|secret|passw(?:or)?d|authorization)[\w-]*)"
    r"([\"']?\s*[:=]\s*[\"']?)(?!\*\*\*|(?:bearer|basic)\s)[^\s\"',;&}]+"
)
_OPENAI_KEY = re.compile(r"\bsk-[\w*.…-]{3,}")  # also masked: "sk-TOP...cdef"
_LONG_TOKEN = re.compile(r"\b[A-Za-z0-9_-]{24,}\b")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without credentials: the configured `secrets` and their masked forms
    ("abc...wxyz"), userinfo and query strings of URLs, bearer/basic tokens, key=value pairs,
    OpenAI-style keys and long random tokens. Servers quote all of these back in errors."""
    for secret in secrets:
        text = text.replace(secret, "***")
        if len(secret) >= 8:
            masked = re.escape(secret[:3]) + r"[\w-]*(?:\.{2,}|\*{2,}|…)[\w-]*"
            text = re.sub(masked, "***", text)
    text = _USERINFO.sub(r"\1***@", text)
    text = _QUERY.sub(r"\1?***", text)
    text = _AUTH_SCHEME.sub(r"\1 ***", text)
    text = _KEY_VALUE.sub(r"\1\2***", text)
    text = _OPENAI_KEY.sub("sk-***", text)
    return _LONG_TOKEN.sub(
        lambda m: "***" if re.search(r"\d", m[0]) and re.search(r"[A-Za-z]", m[0]) else m[0], text
    )


class _RedactingFilter(logging.Filter):
    """The OpenAI client's HTTP library (httpx2; httpx before it) logs each request's full URL
    at INFO, and the page logs at INFO: credentials in RAG_LLM_BASE_URL would be in it."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), sorted(self.secrets, key=len, reverse=True))
        record.args = None
        return True


_HTTP_LOG_FILTER = _RedactingFilter()
for _name in ("httpx", "httpx2"):
    logging.getLogger(_name).addFilter(_HTTP_LOG_FILTER)


def _one_line_error(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """The error's first line, redacted before it is cut (a cut must not leave half a key)."""
    text = redact(str(exc), secrets).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def _copied(question: str, hit: Hit, found: tuple[int, int]) -> Answer:
    """An LLM's short answer found at `found` in `hit`'s passage, shown as the extractive
    answer shows its own: the passage's words in bold first, then the clause around them."""
    chunk = hit.chunk
    s, e = next(
        ((s, e) for s, e in split_sentences(chunk.text) if s <= found[0] < e),
        (0, len(chunk.text)),
    )
    text = chunk.text[s:e]
    a, b = found[0] - s, min(found[1], e) - s
    short = text[a:b]
    limit = max(SUPPORT_MIN_WORDS, ANSWER_WORDS - len(short.split()))
    shown = excerpt(text, *support(text, (a, b), limit))
    if len(shown.split()) - len(short.split()) >= 3:
        body = f"{one_line(short)} [1] — {shown}"
    else:
        body = f"{shown} [1]"
    span = (chunk.start + s + a, chunk.start + s + b)
    citation = Citation.of(chunk, 1, chunk.start + s, chunk.start + e, True, span)
    return Answer(
        text=body,
        citations=(citation,),
        abstained=False,
        mode="llm",
        question=question,
        standalone_question=question,
        span=short,
        short_answer=short,
    )


# ---------------------------------------------------------------------------------------------


class Chain:
    """ask() and stream() over one retriever; the LLM is used when configured and reachable."""

    def __init__(self, settings: Settings, retriever: Retriever, llm=None):
        self.settings = settings
        self.retriever = retriever
        self.llm = (
            llm if llm is not None else (make_llm(settings) if settings.llm_enabled else None)
        )
        self._prepare = RunnableLambda(self._condense) | RunnableLambda(self._retrieve)
        # Sentence vectors by text: the same retrieved passages come back for many questions,
        # and the bundled model embeds ~3-4k characters a second.
        self._sentence_vectors: dict = {}

    @property
    def store(self):
        return self.retriever.store

    def ask(
        self,
        question: str,
        history: History = (),
        *,
        k: int | None = None,
        mode: str | None = None,
        filters: Filters | None = None,
    ) -> Answer:
        final = None
        for event in self.stream(question, history, k=k, mode=mode, filters=filters):
            if isinstance(event, Answer):
                final = event
        return final

    def stream(
        self,
        question: str,
        history: History = (),
        *,
        k: int | None = None,
        mode: str | None = None,
        filters: Filters | None = None,
    ) -> Iterator[Delta | Draft | Reset | Answer]:
        """Text deltas as the answer is produced, then the verified `Answer`. With an LLM, the
        extractive answer first comes as a `Draft`; `timings_ms["first_shown"]` says when."""
        t0 = time.perf_counter()
        question = check_query(question)
        # Small talk, the collection, summaries, comparisons, other languages (rag.router).
        routed = Router(self.retriever, self._similarity, self.llm is not None).answer(
            question, history, k, mode, filters
        )
        if routed is not None:
            for piece in re.findall(r"\S+\s*", routed.text):
                yield Delta(piece)
            ms = (time.perf_counter() - t0) * 1000
            timings = {"retrieve": 0.0, "answer": ms, "total": ms}
            yield replace(
                routed, question=question, standalone_question=question, timings_ms=timings
            )
            return
        inputs = {
            "question": question,
            "history": list(history),
            "k": k,
            "mode": mode,
            "filters": filters,
        }
        # A follow-up is first rewritten by rules, so that the draft shows at once; the LLM's
        # rewrite (one more reply to wait for) comes after it.
        standalone, hits = self._prepare.invoke({**inputs, "by_llm": False})
        t1 = time.perf_counter()
        if self.llm is None or not (hits or history):
            answer = self._extractive(standalone, hits)
            for piece in re.findall(r"\S+\s*", answer.text):
                yield Delta(piece)
            shown = time.perf_counter()
        else:
            draft = replace(self._extractive(standalone, hits), hits=tuple(hits))
            shown = time.perf_counter()
            timings = {
                "retrieve": (t1 - t0) * 1000,
                "answer": (shown - t1) * 1000,
                "total": (shown - t0) * 1000,
            }
            yield Draft(
                replace(
                    draft,
                    question=question,
                    standalone_question=standalone,
                    notice=LLM_PENDING,
                    timings_ms=timings,
                )
            )
            if history:
                rewritten = self._condense({**inputs, "by_llm": True})["standalone"]
                if rewritten != standalone:
                    standalone, hits = self._retrieve({**inputs, "standalone": rewritten})
            answer = draft
            if hits:
                answer = yield from self._llm_answer(standalone, hits[:LLM_PASSAGES], draft)
        t2 = time.perf_counter()
        yield replace(
            answer,
            question=question,
            standalone_question=standalone,
            hits=answer.hits or tuple(hits),  # a fallback keeps the draft's own
            timings_ms={
                "retrieve": (t1 - t0) * 1000,
                "answer": (t2 - t1) * 1000,
                "total": (t2 - t0) * 1000,
                "first_shown": (shown - t0) * 1000,
            },
        )

    def _llm_answer(
        self, question: str, hits: list[Hit], draft: Answer
    ) -> Generator[Delta | Reset, None, Answer]:
        """The LLM's checked answer, or `draft` with a notice saying why not (returned). A
        factoid's short answer is not streamed: it is one phrase, shown only once checked. A
        longer answer streams; a Reset abandons it when it fails."""
        streamed: list[str] = []
        try:
            if shape_of(question) is None:
                return self._short_answer(question, hits)
            for text in self._llm_reply(answer_messages(question, hits)):
                streamed.append(text)
                yield Delta(text)
            reply = "".join(streamed)
            if not reply.strip():
                raise ValueError("empty reply")
            checked = verify_citations(reply, hits, self._idf(), question)
            # Marked sentences beside a verified one are shown; a reply that no passage it
            # cites supports anywhere (a small model copying the prompt's examples) is not.
            if checked.unsupported and not any(c.supported for c in checked.citations):
                raise Unchecked(LLM_UNSUPPORTED, f"{len(checked.unsupported)} câu không có căn cứ")
            # Its bold direct answer is copied from a passage it cites, as a factoid's must be
            # (the 1.5B model bolded the prompt's placeholder once); "Có"/"Không" is judged by
            # the sentences after it.
            short = checked.short_answer
            if (
                short
                and shape_of(question) != YES_NO
                and not any(passage_match(short, c.passage) for c in checked.citations)
            ):
                raise Unchecked(LLM_NOT_IN_PASSAGE, f"{one_line(short)[:80]!r} không có trong đoạn")
            return checked
        except Exception as exc:  # any LLM failure falls back to the extractive answer
            log.warning("LLM (%s): %s", self.settings.llm_endpoint, self._error_line(exc))
            if isinstance(exc, Unchecked):
                notice = exc.notice
            elif isinstance(exc, IncompleteReply):
                notice = LLM_INCOMPLETE
            else:
                notice = LLM_UNREACHABLE
            if streamed:
                yield Reset(notice)
            if notice == LLM_NOT_FOUND and draft.abstained:
                return draft  # both found nothing: the abstention needs no notice
            return replace(draft, notice=notice)

    def _short_answer(self, question: str, hits: list[Hit]) -> Answer:
        """The one phrase the short prompt asks for, accepted only where its cited passage says
        it: the passage's own words, cited, with the clause around them as the extractive
        answer shows one. Raises Unchecked otherwise."""
        pieces: list[str] = []
        # As `max_tokens` itself: llama.cpp's server ignores the client's max_completion_tokens.
        cap = {"extra_body": {"max_tokens": SHORT_MAX_TOKENS}}
        for text in self._llm_reply(short_messages(question, hits), **cap):
            pieces.append(text)
            if "\n" in "".join(pieces).strip():
                break  # the first line is the answer; a small model may go on and on
        reply = short_reply("".join(pieces))
        if reply is None:
            raise ValueError("empty reply")
        if reply.abstained:
            raise Unchecked(LLM_NOT_FOUND, "the model found no answer")
        # Small models often copy the words around the answer that the question repeats.
        if not set(terms(reply.phrase, folded=False)) - set(terms(question, folded=False)):
            raise Unchecked(LLM_ECHO, f"{one_line(reply.phrase)[:80]!r} chỉ có từ của câu hỏi")
        # As for the extractive answer: a phrase of another type than asked is never bolded.
        if agreement(Question.parse(question).expected, reply.phrase) == NONE:
            raise Unchecked(LLM_WRONG_TYPE, f"{one_line(reply.phrase)[:80]!r} không đúng loại")
        for n in reply.markers:
            if not 1 <= n <= len(hits):
                continue
            found = passage_match(reply.phrase, hits[n - 1].chunk.text)
            if found is not None:
                return _copied(question, hits[n - 1], found)
        given = ", ".join(f"[{n}]" for n in reply.markers) or "không có"
        raise Unchecked(
            LLM_NOT_IN_PASSAGE,
            f"{one_line(reply.phrase)[:80]!r} không có trong đoạn trích dẫn ({given})",
        )

    def _llm_reply(self, messages, **options) -> Iterator[str]:
        """The reply's text pieces as they stream. Raises IncompleteReply when the stream ends
        without a finish reason (the connection was cut: what came is not the whole answer) or
        when the whole reply takes longer than RAG_LLM_TIMEOUT (the client's own timeout is per
        read, so a server that drips tokens would never hit it)."""
        deadline = time.monotonic() + self.settings.llm_timeout
        finish = None
        with closing(self.llm.stream(messages, **options)) as pieces:
            for piece in pieces:
                if time.monotonic() > deadline:
                    raise IncompleteReply(f"quá {self.settings.llm_timeout:g} s")
                finish = piece.response_metadata.get("finish_reason") or finish
                if isinstance(piece.content, str) and piece.content:
                    yield piece.content
        # "length": cut at the server's token limit, mid-sentence.
        if finish is None or finish == "length":
            raise IncompleteReply(f"luồng trả lời dừng giữa chừng (finish_reason={finish})")

    def _error_line(self, exc: BaseException) -> str:
        return _one_line_error(exc, self.settings.llm_secrets)

    # -- steps --------------------------------------------------------------------------------
    def _condense(self, inputs: dict) -> dict:
        question, history = inputs["question"], inputs["history"]
        standalone = question
        if history and self.llm is not None and inputs["by_llm"]:
            try:
                reply = self.llm.invoke(condense_messages(question, history))
                text = reply.content.strip() if isinstance(reply.content, str) else ""
                standalone = check_query(text.splitlines()[0]) if text else question
            except Exception as exc:
                log.warning(
                    "LLM (%s, viết lại câu hỏi): %s",
                    self.settings.llm_endpoint,
                    self._error_line(exc),
                )
                standalone = rewrite_follow_up(question, history)
        elif history:
            standalone = rewrite_follow_up(question, history)
        return {**inputs, "standalone": standalone}

    def _retrieve(self, inputs: dict) -> tuple[str, list[Hit]]:
        hits = self.retriever.search(
            inputs["standalone"], k=inputs["k"], mode=inputs["mode"], filters=inputs["filters"]
        )
        return inputs["standalone"], hits

    def _idf(self):
        lexical = self.store.snapshot.lexical
        return idf_from_counts(lexical.folded_doc_freq, max(lexical.size, 1))

    def _extractive(self, question: str, hits: list[Hit]) -> Answer:
        if not hits:
            return abstention(question)
        # No question-sentence cosine here: with the bundled model it changed nothing measurable
        # on the XQuAD-vi tune half (contains 0.690 without it, 0.687 with; short F1 0.274 /
        # 0.268) and cost up to ~0.8 s a question (docs/benchmarks.md). Questions in another
        # language still get it, through the router.
        idf = self._idf()
        # Why / how, list and yes/no questions get their own shape (rag.answer.shaped); None:
        # a factoid.
        shaped = answer_shaped(question, hits, idf)
        if shaped is not None:
            return shaped
        return ExtractiveAnswerer(idf=idf, reader=reader_for(self.settings.reader)).answer(
            question, hits
        )

    def _similarity(self):
        loaded = self.store.embedder
        # A fallback to the bundled model is still a multilingual model; only hashing is not.
        if loaded.name == "hashing":
            return None
        return cosine_similarity(loaded.embedder, self._sentence_vectors)


__all__ = ["Chain", "Delta", "Draft", "Reset", "make_llm", "redact"]
