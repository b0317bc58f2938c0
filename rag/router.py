"""The step before retrieval: questions that are not factoids go to their own answerers.

In: the question, the conversation so far, the `Retriever` (and through it the store's snapshot)
and the page's search options. Out: the `Answer` to small talk, a question about the collection,
a summary, a comparison or (without an LLM) a question in another language; None for a factoid
question, which the chain answers as before.
Never answers a factoid question itself, and never retrieves for small talk or metadata.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from rag.collection import Catalog, answer_collection
from rag.foreign import NO_MODEL, NOTE, Similarity, answer_foreign
from rag.intents import COLLECTION, COMPARISON, FACTOID, SMALL_TALK, SUMMARY, Intent, route
from rag.reader import reader_for
from rag.retrieval import Retriever
from rag.smalltalk import small_talk_reply
from rag.summary import compare, summarize
from rag.types import Answer, Chunk, Filters

# A question that names no article summarises them all up to this many; beyond, it lists titles.
MAX_SUMMARISED = 5
# Passages a comparison looks among for the documents to compare.
COMPARISON_POOL = 20


class Router:
    """`answer()` for the kinds of question rag.intents recognises."""

    def __init__(
        self,
        retriever: Retriever,
        similarity: Callable[[], Similarity | None],
        llm: bool,
    ):
        self.retriever = retriever
        self.similarity = similarity  # asked only for a question in another language
        self.llm = llm

    def answer(
        self,
        question: str,
        history: Sequence[tuple[str, str]] = (),
        k: int | None = None,
        mode: str | None = None,
        filters: Filters | None = None,
    ) -> Answer | None:
        snapshot = self.retriever.store.snapshot
        catalog = Catalog.from_snapshot(snapshot, filters)
        intent = route(question, catalog.names)
        if intent.kind in SMALL_TALK:
            return small_talk_reply(intent.kind, catalog)
        search = _Search(self.retriever, snapshot, k, mode, filters)
        if not intent.foreign:
            return _by_kind(intent, question, history, catalog, search)
        if intent.kind == FACTOID and self.llm:
            return None  # the LLM reads the passages in any language
        similarity = self.similarity()
        if similarity is None and (intent.kind == FACTOID or intent.topic):
            return Answer(NO_MODEL, (), abstained=True, mode="extractive")
        # Words of another language match nothing in the lexical index: dense only.
        search = _Search(self.retriever, snapshot, k, "dense", filters)
        answer = _by_kind(intent, question, history, catalog, search)
        if answer is None:
            reader = reader_for(self.retriever.settings.reader)
            return answer_foreign(question, search(question), similarity, reader)
        if answer.abstained:
            return answer
        return replace(answer, text=f"{NOTE}\n\n{answer.text}")


class _Search:
    """Retrieval with the page's options, and the passages of whole documents."""

    def __init__(self, retriever, snapshot, k, mode, filters):
        self.retriever, self.snapshot = retriever, snapshot
        self.k, self.mode, self.filters = k, mode, filters

    def __call__(self, query: str, k: int | None = None):
        return self.retriever.search(query, k=k or self.k, mode=self.mode, filters=self.filters)

    def first_doc(self, query: str) -> str | None:
        hits = self(query, k=1)
        return hits[0].chunk.doc_id if hits else None

    def passages(self, doc_ids) -> dict[str, list[Chunk]]:
        """The chunks of each of `doc_ids`, in article order."""
        out: dict[str, list[Chunk]] = {}
        for doc_id in sorted(doc_ids):
            record = self.snapshot.docs.get(doc_id)
            if record:
                out[doc_id] = [
                    self.snapshot.chunks[self.snapshot.position[c]] for c in record["chunks"]
                ]
        return out


def _by_kind(intent: Intent, question, history, catalog: Catalog, search: _Search):
    if intent.kind == COLLECTION:
        return answer_collection(intent.ask, question, intent.topic, catalog, search.first_doc)
    if intent.kind == SUMMARY:
        return _summary(intent, question, history, catalog, search)
    if intent.kind == COMPARISON:
        hits = search(question, k=max(search.k or search.retriever.settings.top_k, COMPARISON_POOL))
        return compare(intent.topic, hits, search.passages({h.chunk.doc_id for h in hits}))
    return None


def _summary(intent: Intent, question, history, catalog: Catalog, search: _Search) -> Answer:
    """Summarise the article the question names (by title words, outlet, author or date), else
    the one its topic retrieves first, else the one the previous question was about, else every
    article when they are few (the list of titles when they are many)."""
    docs = catalog.titled(intent.topic) if intent.topic else []
    if not docs:
        docs = catalog.mentioned(question) or []
    about = intent.topic or (history[-1][0] if history else "")
    if not docs and about:
        doc_id = search.first_doc(about)
        docs = [d for d in catalog.docs if d.doc_id == doc_id]
    if not docs:
        if len(catalog.docs) > MAX_SUMMARISED:
            return answer_collection("list", "", "", catalog)
        docs = list(catalog.docs)
    chunks = search.passages({d.doc_id for d in docs})
    return summarize([chunks[d.doc_id] for d in docs if d.doc_id in chunks])


__all__ = ["MAX_SUMMARISED", "Router"]
