"""LLM judging in the manner of RAGAS: faithfulness and answer relevance, prompts in Vietnamese.

In: a question, its `Answer` (claims with [n] markers, cited passages) and a LangChain chat
model (`rag.chain.make_llm`). Out: faithfulness = share of the answer's claims the judge finds
supported by the passages they cite; answer relevance = mean cosine between the question and
questions the judge writes back from the answer. A reply the judge garbles scores None.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import numpy as np
from langchain_core.messages import HumanMessage, SystemMessage

from rag.text import split_sentences
from rag.types import Answer

Embed = Callable[[list[str]], np.ndarray]

FAITHFULNESS_SYSTEM = (
    "Bạn là người chấm điểm cẩn thận. Với mỗi nhận định được đánh số, hãy xét xem nó có được "
    "đoạn văn nó trích dẫn khẳng định trực tiếp hay không. Chỉ dựa vào đoạn văn, không dùng "
    "hiểu biết bên ngoài."
)
FAITHFULNESS_USER = (
    "Các đoạn văn:\n{passages}\n\nCác nhận định:\n{claims}\n\n"
    'Trả lời bằng JSON, một phần tử cho mỗi nhận định: [{{"n": 1, "supported": true}}, ...]. '
    "Không viết gì khác."
)
RELEVANCE_SYSTEM = (
    "Bạn là người chấm điểm. Đọc câu trả lời và viết những câu hỏi mà câu trả lời này trả lời "
    "trực tiếp."
)
RELEVANCE_USER = (
    "Câu trả lời:\n{answer}\n\nHãy viết {n} câu hỏi bằng tiếng Việt, mỗi câu một dòng, "
    "không đánh số, không viết gì khác."
)
_MARKER = re.compile(r"\[(\d+)\]")
_JSON_LIST = re.compile(r"\[.*\]", re.S)


def claims_of(answer: Answer) -> list[tuple[str, list[int]]]:
    """(claim without markers, citation numbers) for each sentence of the answer."""
    out = []
    for s, e in split_sentences(answer.text):
        sentence = answer.text[s:e]
        markers = [int(n) for n in _MARKER.findall(sentence)]
        claim = " ".join(_MARKER.sub("", sentence).replace("…", " ").split()).rstrip(" .;,")
        if claim:
            out.append((claim, markers))
    return out


def faithfulness(llm, answer: Answer) -> float | None:
    """Share of claims the judge finds supported by their cited passages (0 for a claim that
    cites nothing); None when the reply cannot be read."""
    claims = claims_of(answer)
    if not claims:
        return None
    passages = "\n\n".join(f"[{c.n}] {' '.join(c.passage.split())}" for c in answer.citations)
    listed = "\n".join(
        f"{i}. {claim} (trích dẫn: {', '.join(f'[{m}]' for m in markers) or 'không có'})"
        for i, (claim, markers) in enumerate(claims, 1)
    )
    reply = _ask(
        llm, FAITHFULNESS_SYSTEM, FAITHFULNESS_USER.format(passages=passages, claims=listed)
    )
    verdicts = _verdicts(reply)
    if verdicts is None:
        return None
    supported = sum(
        1 for i, (_, markers) in enumerate(claims, 1) if markers and verdicts.get(i, False)
    )
    return supported / len(claims)


def answer_relevance(llm, question: str, answer: Answer, embed: Embed, n: int = 3) -> float | None:
    """Mean cosine between the question and the judge's questions for the answer (RAGAS)."""
    text = " ".join(_MARKER.sub("", answer.text).split())
    reply = _ask(llm, RELEVANCE_SYSTEM, RELEVANCE_USER.format(answer=text, n=n))
    generated = [line.strip(" -•*\t") for line in reply.splitlines() if line.strip(" -•*\t")]
    if not generated:
        return None
    vectors = np.asarray(embed([question, *generated[:n]]), dtype=float)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return float(np.clip(vectors[1:] @ vectors[0], 0.0, 1.0).mean())


def judge_answer(llm, question: str, answer: Answer, embed: Embed) -> dict:
    """Both scores for one answered question; {} for an abstention (nothing to judge)."""
    if answer.abstained:
        return {}
    return {
        "faithfulness": faithfulness(llm, answer),
        "answer_relevance": answer_relevance(llm, question, answer, embed),
    }


def _ask(llm, system: str, user: str) -> str:
    try:
        reply = llm.invoke([SystemMessage(system), HumanMessage(user)])
    except Exception:  # an unreachable judge leaves the score empty, it does not stop the run
        return ""
    return reply.content if isinstance(reply.content, str) else ""


def _verdicts(reply: str) -> dict[int, bool] | None:
    match = _JSON_LIST.search(reply)
    if not match:
        return None
    try:
        items = json.loads(match.group())
    except json.JSONDecodeError:
        return None
    if not isinstance(items, list):
        return None
    verdicts = {}
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("n"), int):
            verdicts[item["n"]] = item.get("supported") is True
    return verdicts


def embedder_of(assistant) -> Embed:
    """The assistant's own embedder, query-side, as the relevance cosine."""
    model = assistant.embeddings

    def embed(texts: list[str]) -> np.ndarray:
        return np.asarray(model.embed_array(list(texts), is_query=True))

    return embed
