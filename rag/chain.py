"""The question-answering chain and `Assistant`, the one object the page, CLI and eval use.

In: a question and the conversation so far. Out: a streamed `Answer` (text deltas, then the
answer with verified citations): standalone question -> retrieval -> extractive or LLM answer ->
citation verification. An LLM that cannot be reached, times out or replies badly never fails a
question: the extractive answer is given with a one-line notice.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from langchain_core.runnables import RunnableLambda

from rag.answer import Answer, abstention, verify_citations
from rag.config import Settings
from rag.extractive import ExtractiveAnswerer, person_names
from rag.prompts import answer_messages, condense_messages
from rag.question import question_kind
from rag.retrieval import Hit, Retriever, check_query
from rag.scoring import idf_from_counts
from rag.store import Filters
from rag.text import canonical

log = logging.getLogger(__name__)

History = Sequence[tuple[str, str]]

LLM_UNREACHABLE = "Không kết nối được mô hình ngôn ngữ; đây là câu trả lời trích xuất."


@dataclass(frozen=True)
class Delta:
    """A piece of answer text as it is produced."""

    text: str


@dataclass(frozen=True)
class Reset:
    """The text streamed so far is abandoned (the LLM failed); the final Answer replaces it."""

    notice: str


def make_llm(settings: Settings):
    """LangChain's OpenAI-compatible chat model (vLLM, Ollama, llama.cpp, LM Studio, APIs)."""
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        base_url=settings.llm_base_url,
        model=settings.llm_model or "default",
        api_key=settings.llm_api_key or "not-needed",
        temperature=0,
        timeout=settings.llm_timeout,
        max_retries=0,
        streaming=True,
    )


# ---------------------------------------------------------------------------------------------
# Follow-up questions without an LLM

_REFERS = re.compile(
    r"\b(ông ấy|bà ấy|anh ấy|chị ấy|người này|người đó|ông ta|bà ta|đồng chí này|đồng chí đó|"
    r"người ấy|vị này)\b"
)
_REFERS_TIME = re.compile(r"\b(năm đó|năm ấy|khi đó|lúc đó|thời điểm đó|năm này)\b")
_CONTINUE = re.compile(
    r"^(?:thế |vậy |còn )*còn\s+(.+?)\s*(?:thì sao|thế nào|ra sao|thì thế nào)"
    r"?\s*[?.!]*$"
)
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")


def rewrite_follow_up(question: str, history: History) -> str:
    """Carry the previous question's subject into a short or referring follow-up."""
    if not history:
        return question
    prev_q, prev_a = history[-1]
    lowered = canonical(question)  # same length as `question`, so offsets carry over
    m = _CONTINUE.match(lowered)
    if m:
        new = question[m.start(1) : m.end(1)]
        years = _YEAR.findall(new)
        if years and _YEAR.search(prev_q):
            return _YEAR.sub(years[0], prev_q, count=1)
        return _swap_subject(prev_q, new)
    m = _REFERS.search(lowered)
    if m:
        person = _previous_person(prev_q, prev_a)
        if person:
            return question[: m.start()] + person + question[m.end() :]
    m = _REFERS_TIME.search(lowered)
    if m:
        years = _YEAR.findall(prev_a) or _YEAR.findall(prev_q)
        if years:
            return question[: m.start()] + f"năm {years[0]}" + question[m.end() :]
    if len(question.split()) <= 4:
        # Only the previous topic comes along, not what it asked ("... vào ngày nào").
        topic = " ".join(_ASK_PHRASE.sub(" ", prev_q).split()).strip(" ,?")
        return f"{question.rstrip(' ?')} ({topic})?"
    return question


_ASK_PHRASE = re.compile(
    r"(?<!\w)(?:vào\s+)?(?:khi nào|bao giờ|lúc nào|ngày nào|năm nào|tháng nào|bao nhiêu|mấy|"
    r"là ai|ai|là gì|gì|ở đâu|đâu)(?!\w)",
    re.IGNORECASE,
)


def _swap_subject(prev_q: str, subject: str) -> str:
    """'Còn kim ngạch nhập khẩu thì sao?' after '... công nghiệp của Khối tăng bao nhiêu?' asks
    'kim ngạch nhập khẩu tăng bao nhiêu?': the new subject with the old predicate, which starts
    at the word before the question phrase."""
    m = _ASK_PHRASE.search(prev_q)
    words_before = prev_q[: m.start()].split() if m else []
    if not words_before:
        return f"{prev_q.rstrip(' ?')} {subject}?"
    verb_at = prev_q.rfind(words_before[-1], 0, m.start())
    tail = prev_q[verb_at:]
    return f"{subject} {tail[0].lower()}{tail[1:]}"


def _previous_person(prev_q: str, prev_a: str) -> str | None:
    for text, against in ((prev_a, prev_q), (prev_q, "")):
        names = person_names(text, against)
        if names:
            return names[0]
    return None


# ---------------------------------------------------------------------------------------------


class Assistant:
    """ask() and stream() over one store; the LLM is used when configured and reachable."""

    def __init__(self, settings: Settings, retriever: Retriever, llm=None):
        self.settings = settings
        self.retriever = retriever
        self.llm = (
            llm if llm is not None else (make_llm(settings) if settings.llm_enabled else None)
        )
        self._prepare = RunnableLambda(self._condense) | RunnableLambda(self._retrieve)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Assistant:
        settings = settings or Settings.from_env()
        return cls(settings, Retriever.from_settings(settings))

    @property
    def store(self):
        return self.retriever.store

    def status(self) -> dict:
        """What runs: the contract of `python -m rag info`."""
        loaded = self.store.embedder
        snapshot = self.store.snapshot
        return {
            "documents": len(snapshot.docs),
            "chunks": len(snapshot.chunks),
            "embedding_model": loaded.name,
            "embedding_fallback": loaded.fallback,
            "llm": (self.settings.llm_model or self.settings.llm_base_url)
            if self.llm is not None
            else None,
            "retrieval_mode": self.settings.retrieval_mode,
            "data_dir": str(self.settings.data_dir),
        }

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
    ) -> Iterator[Delta | Reset | Answer]:
        """Text deltas as the answer is produced, then the verified `Answer`."""
        t0 = time.perf_counter()
        question = check_query(question)
        standalone, hits = self._prepare.invoke(
            {
                "question": question,
                "history": list(history),
                "k": k,
                "mode": mode,
                "filters": filters,
            }
        )
        t1 = time.perf_counter()
        notice = None
        answer = None
        if self.llm is not None:
            streamed: list[str] = []
            try:
                for piece in self.llm.stream(answer_messages(standalone, hits)):
                    text = piece.content if isinstance(piece.content, str) else ""
                    if text:
                        streamed.append(text)
                        yield Delta(text)
                reply = "".join(streamed)
                if not reply.strip():
                    raise ValueError("empty reply")
                answer = verify_citations(reply, hits, self._idf(), standalone)
            except Exception as exc:  # any LLM failure falls back to the extractive answer
                log.warning("LLM: %s", self._redact(_one_line_error(exc)))
                notice = LLM_UNREACHABLE
                if streamed:
                    yield Reset(notice)
        if answer is None:
            answer = self._extractive(standalone, hits)
            for piece in re.findall(r"\S+\s*", answer.text):
                yield Delta(piece)
        t2 = time.perf_counter()
        yield replace(
            answer,
            question=question,
            standalone_question=standalone,
            notice=notice,
            hits=tuple(hits),
            timings_ms={
                "retrieve": (t1 - t0) * 1000,
                "answer": (t2 - t1) * 1000,
                "total": (t2 - t0) * 1000,
            },
        )

    def _redact(self, text: str) -> str:
        """Some servers quote the key back in their errors; it never reaches a log."""
        key = self.settings.llm_api_key
        return text.replace(key, "***") if key else text

    # -- steps --------------------------------------------------------------------------------
    def _condense(self, inputs: dict) -> dict:
        question, history = inputs["question"], inputs["history"]
        standalone = question
        if history and self.llm is not None:
            try:
                reply = self.llm.invoke(condense_messages(question, history))
                text = reply.content.strip() if isinstance(reply.content, str) else ""
                standalone = check_query(text.splitlines()[0]) if text else question
            except Exception as exc:
                log.warning("LLM (viết lại câu hỏi): %s", self._redact(_one_line_error(exc)))
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
        answerer = ExtractiveAnswerer(
            idf=self._idf(),
            similarity=self._similarity(),
        )
        return answerer.answer(question, hits)

    def _similarity(self):
        loaded = self.store.embedder
        if loaded.fallback or loaded.name == "hashing":
            return None
        model = loaded.embedder

        def cosine(question: str, sentences: list[str]) -> list[float]:
            import numpy as np

            q = np.asarray(model.embed_array([question], is_query=True))[0]
            s = np.asarray(model.embed_array(sentences))
            return (s @ q).tolist()

        return cosine


def _one_line_error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


__all__ = ["Assistant", "Delta", "Reset", "rewrite_follow_up", "question_kind"]
