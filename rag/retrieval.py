"""Retrieval modes over the store: dense (Chroma), lexical (BM25) and hybrid (linear fusion whose
weights depend on the question and the embedder, `rag.fusion`), an optional cross-encoder
reranker, and metadata filters.

In: a question (as typed: accents, old or new tone marks, or none) and `Filters`.
Out: `Hit`s ranked best first, each holding an original-text `Chunk` of the current snapshot.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from rag.config import RETRIEVAL_MODES, Settings
from rag.errors import QueryError
from rag.fusion import FusionWeights, fusion_weights, linear_fusion
from rag.lexical import top_k
from rag.snapshot import Snapshot
from rag.store import Store
from rag.text import nfc
from rag.types import Filters, Hit

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 2000


# "[1]" in a question is a pasted citation marker: it names no content to look for.
_CITATION_MARKER = re.compile(r"\[\s*\d+\s*\]")
_WORD_CHAR = re.compile(r"\w")


def check_query(query: str | None) -> str:
    """The question stripped and in NFC, or QueryError for one that is empty, oversized, not
    valid Unicode (undecodable bytes from a terminal), or only punctuation and "[1]" markers."""
    text = query or ""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Bytes that were not UTF-8 reach Python as lone surrogates (argv's surrogateescape).
        raise QueryError("Câu hỏi có byte không phải UTF-8: hãy gõ lại câu hỏi.") from None
    text = nfc(text).strip()
    if not text:
        raise QueryError("Câu hỏi trống: hãy nhập một câu hỏi.")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"Câu hỏi quá dài ({len(text):,} ký tự; tối đa {MAX_QUERY_CHARS:,}).")
    if not _WORD_CHAR.search(_CITATION_MARKER.sub(" ", text)):
        raise QueryError("Câu hỏi chỉ có dấu câu hoặc số trích dẫn như [1]: hãy hỏi lại bằng lời.")
    return text


@dataclass(frozen=True)
class Rankings:
    """One question's lexical and dense rankings, as hybrid mode fuses them: (position, score)
    pairs over `doc_ids`, the document of each chunk of the snapshot they were made on."""

    lexical: list[tuple[int, float]]
    dense: list[tuple[int, float]]
    doc_ids: tuple[str, ...]


class Retriever:
    """Searches the current snapshot of a `Store` in one of the three modes."""

    def __init__(self, store: Store, settings: Settings):
        self.store = store
        self.settings = settings
        self._reranker = None
        self._reranker_failed = False

    @classmethod
    def from_settings(cls, settings: Settings) -> Retriever:
        """Load the configured embedder (or its offline fallback), open its store and repair
        it if one half (Chroma or the BM25 snapshot) was lost or damaged."""
        from embeddings import load_embedder

        store = Store(settings, load_embedder(settings.embedding_model))
        store.verify()
        return cls(store, settings)

    def search(
        self,
        query: str,
        k: int | None = None,
        mode: str | None = None,
        filters: Filters | None = None,
    ) -> list[Hit]:
        query = check_query(query)
        k = k or self.settings.top_k
        mode = mode or self.settings.retrieval_mode
        if mode not in RETRIEVAL_MODES:
            raise QueryError(
                f"Chế độ tìm kiếm không hợp lệ: {mode!r} (chọn {', '.join(RETRIEVAL_MODES)})."
            )
        # One snapshot for the whole search: an ingest may commit a new one meanwhile, and
        # positions from two snapshots must never mix.
        snapshot = self.store.snapshot
        reranker = self._get_reranker()
        pool = max(k * 4, 30) if (mode == "hybrid" or reranker) else k
        if mode == "lexical":
            ranked = self._lexical(snapshot, query, pool, filters)
        elif mode == "dense":
            ranked = self._dense(snapshot, query, pool, filters)
        else:
            weights = self.fusion(query)
            # A ranking without a vote is not computed: no query embedding for an unaccented one.
            ranked = linear_fusion(
                self._lexical(snapshot, query, pool, filters) if weights.lexical > 0 else [],
                self._dense(snapshot, query, pool, filters) if weights.dense > 0 else [],
                weights,
            )
        if reranker:
            ranked = self._rerank(reranker, snapshot, query, ranked[:pool])
        return [
            Hit(snapshot.chunks[pos], score, rank)
            for rank, (pos, score) in enumerate(ranked[:k], 1)
        ]

    def rankings(self, query: str, n: int) -> Rankings:
        """Both rankings of `query`, `n` deep, over one snapshot (for tuning the fusion)."""
        query = check_query(query)
        snapshot = self.store.snapshot
        return Rankings(
            self._lexical(snapshot, query, n, None),
            self._dense(snapshot, query, n, None),
            tuple(c.doc_id for c in snapshot.chunks),
        )

    def fusion(self, query: str) -> FusionWeights:
        """The hybrid weights for `query` with this store's embedder (RAG_HYBRID_WEIGHTS wins)."""
        return fusion_weights(query, self.store.embedder.name, self.settings.fusion_override)

    def _lexical(
        self, snapshot: Snapshot, query: str, n: int, filters: Filters | None
    ) -> list[tuple[int, float]]:
        if not snapshot.chunks:
            return []
        return top_k(snapshot.lexical.scores(query), n, snapshot.mask(filters))

    def _dense(
        self, snapshot: Snapshot, query: str, n: int, filters: Filters | None
    ) -> list[tuple[int, float]]:
        if not snapshot.chunks:
            return []
        vector = self.store.embedder.embedder.embed_query(query)
        # Chroma may hold chunks of a sync in progress; only the committed snapshot counts.
        found = self.store.dense_search(vector, n, filters)
        return [(snapshot.position[cid], score) for cid, score in found if cid in snapshot.position]

    def _get_reranker(self):
        name = self.settings.reranker_model
        if not name or self._reranker_failed:
            return None
        if self._reranker is None:
            try:
                from sentence_transformers import CrossEncoder

                self._reranker = CrossEncoder(name)
            except Exception as exc:
                self._reranker_failed = True
                log.warning(
                    "Không tải được mô hình xếp hạng lại '%s' (%s); bỏ qua bước xếp hạng lại.",
                    name,
                    str(exc).splitlines()[0] if str(exc) else exc,
                )
                return None
        return self._reranker

    def _rerank(
        self, reranker, snapshot: Snapshot, query: str, ranked: list[tuple[int, float]]
    ) -> list[tuple[int, float]]:
        if not ranked:
            return ranked
        chunks = snapshot.chunks
        scores = reranker.predict([(query, chunks[pos].indexed_text) for pos, _ in ranked])
        order = sorted(
            zip((p for p, _ in ranked), (float(s) for s in scores), strict=True),
            key=lambda item: -item[1],
        )
        return order
