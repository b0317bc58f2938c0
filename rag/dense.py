"""The snapshot's vectors in one Chroma collection per embedding model.

In: a committed `Snapshot`, the embedder and the persistent vector cache. Out: dense search
(chunk ids with cosine similarity), how many chunks still lack a vector, and the vector build
that gives them one: cache first, only misses embedded, each embedded batch committed to the
cache before Chroma is written, so a kill loses no finished vector. Also the documents Chroma
holds whole, to rebuild a lost snapshot from. Never writes on the read path, and never searches
another model's vectors (a reader ignores them, a writer replaces the collection).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Callable

import numpy as np

from embeddings import LoadedEmbedder, collection_slug
from rag import chroma
from rag.config import Settings
from rag.errors import StoreError, describe, disk_full, write_failed
from rag.snapshot import PIPELINE_VERSION, Snapshot
from rag.types import Chunk, Filters
from rag.vectors import VectorCache

log = logging.getLogger(__name__)

# Texts per call to the model: also how much a kill can lose of the vector cache's work.
EMBED_BATCH = 256
Progress = Callable[[str, int, int], None]
REBUILD_HINT = "hãy chạy `python -m rag ingest --rebuild` để dựng lại chỉ mục từ thư mục tài liệu"


class DenseIndex:
    """The collection `chunks-<model>` of one embedder, opened lazily and re-opened when
    another process wrote to the embedded store."""

    def __init__(self, settings: Settings, embedder: LoadedEmbedder):
        self.settings = settings
        self.embedder = embedder
        self.collection_name = f"chunks-{collection_slug(embedder.name)}"
        self.client = None
        self._collection = None
        self._epoch = -1
        self._foreign_warned = False
        self._full_warned = False
        self._pending: tuple[Snapshot, tuple, int] | None = None

    def open(self, *, create: bool):
        """This model's collection; None when reading and there is none yet. Another model's
        vectors in it (a copied data folder, a model folder replaced in place) cannot be
        searched: a reader ignores them, a writer replaces the collection."""
        chroma.follow_foreign_writes(self.settings)
        epoch = chroma.epoch(self.settings)
        if self._collection is not None and epoch == self._epoch:
            return self._collection
        try:
            client = chroma.make_client(self.settings, create=create)
            if client is None:
                return None
            if create:
                collection = self._create(client)
            else:
                try:
                    collection = client.get_collection(self.collection_name)
                except Exception as exc:
                    if type(exc).__name__ == "NotFoundError":
                        return None
                    raise
            sample = collection.get(limit=1, include=["embeddings"])["embeddings"]
        except chroma.ChromaUnavailable:
            raise
        except Exception as exc:
            if not create and disk_full(exc):
                # Chroma writes to its SQLite file when it opens; searches must still answer.
                # The half-opened system stays in chromadb's cache and would fail the next open
                # with another error ('RustBindingsAPI' has no 'bindings'): drop it, so each
                # open meets the full disk again, and Chroma again once there is room.
                chroma.forget(self.settings)
                if not self._full_warned:
                    self._full_warned = True
                    log.warning(
                        "Đĩa đầy: Chroma không mở được để đọc; tạm thời chỉ tìm theo từ khóa."
                    )
                return None
            raise self._broken(exc) from exc
        stored = len(sample[0]) if sample is not None and len(sample) else None
        expected = getattr(self.embedder.embedder, "dimension", None)
        if stored and expected and stored != expected:
            if not create:
                if not self._foreign_warned:
                    self._foreign_warned = True
                    log.warning(
                        "Chroma '%s' chứa vector %d chiều của một mô hình khác (mô hình đang "
                        "dùng: %d chiều); tìm theo từ khóa cho tới lần nạp sau.",
                        self.collection_name,
                        stored,
                        expected,
                    )
                return None
            log.warning(
                "Chroma '%s' chứa vector %d chiều của một mô hình khác (mô hình đang dùng: %d "
                "chiều); đang dựng lại từ nội dung đã lưu.",
                self.collection_name,
                stored,
                expected,
            )
            client.delete_collection(self.collection_name)
            collection = self._create(client)
        self.client, self._collection, self._epoch = client, collection, epoch
        return collection

    def _create(self, client):
        return client.get_or_create_collection(
            self.collection_name,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"embedding_model": self.embedder.name},
        )

    def drop(self) -> None:
        """Delete this model's vectors: the whole embedded folder, or the server collection."""
        self._collection = self.client = None
        if self.settings.chroma_host:
            with contextlib.suppress(Exception):  # a broken or missing one is what is dropped
                chroma.make_client(self.settings).delete_collection(self.collection_name)
        else:
            chroma.forget(self.settings)
            shutil.rmtree(chroma.chroma_folder(self.settings), ignore_errors=True)

    def search(
        self, vector: list[float], n: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]:
        """(chunk_id, cosine similarity) of the n nearest chunks that have vectors, best first.
        The caller keeps only chunks of its snapshot: Chroma may lag behind it or hold rows
        of a newer one."""
        collection = self.open(create=False)
        if collection is None:
            return []
        with self._server_requests():
            size = collection.count()
            if size == 0:
                return []
            where = filters.chroma_where() if filters else None
            result = collection.query(
                query_embeddings=[vector],
                n_results=min(n, size),
                where=where,
                include=["distances"],
            )
        return [
            (cid, 1.0 - float(d))
            for cid, d in zip(result["ids"][0], result["distances"][0], strict=True)
        ]

    def pending(self, snapshot: Snapshot) -> int:
        """Chunks of `snapshot` whose vectors are not in Chroma yet."""
        if not snapshot.chunks:
            return 0
        collection = self.open(create=False)
        if collection is None:
            return len(snapshot.chunks)
        with self._server_requests():
            key = (chroma.marker_state(self.settings), collection.count())
            # The snapshot itself, not its id(): a new one may reuse a dead one's id.
            if self._pending is None or self._pending[0] is not snapshot or self._pending[1] != key:
                stored = set(collection.get(include=[])["ids"])
                missing = sum(c.chunk_id not in stored for c in snapshot.chunks)
                self._pending = (snapshot, key, missing)
        return self._pending[2]

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors of indexed passage texts, as the vector build makes them (float32 rows)."""
        model = self.embedder.embedder
        return np.asarray(model.embed_array(texts, show_progress=False), dtype=np.float32)

    def build(self, snapshot: Snapshot, cache: VectorCache, progress: Progress) -> int:
        """Give every chunk of `snapshot` its vector and drop rows it no longer holds. Returns
        how many texts the model embedded (the others came from the cache)."""
        collection = self.open(create=True)
        epoch = self._epoch
        try:
            stored = set(collection.get(include=[])["ids"])
        except Exception as exc:
            raise self._broken(exc) from exc
        extra = sorted(stored - set(snapshot.position))
        pending = [c for c in snapshot.chunks if c.chunk_id not in stored]
        if extra:
            self._write(lambda: self._delete(collection, extra), epoch)
        if not pending:
            return 0
        embedded = 0
        batch = max(1, min(self.settings.write_batch, self.client.get_max_batch_size()))
        progress("embed", 0, len(pending))
        for start in range(0, len(pending), batch):
            part = pending[start : start + batch]
            texts = [c.indexed_text for c in part]
            vectors = cache.get(texts)
            misses = [i for i, v in enumerate(vectors) if v is None]
            for i in range(0, len(misses), EMBED_BATCH):
                which = misses[i : i + EMBED_BATCH]
                made = self.embed([texts[j] for j in which])
                cache.put([texts[j] for j in which], made)
                for j, vector in zip(which, made, strict=True):
                    vectors[j] = vector
                embedded += len(which)
                progress("embed", start + (i + len(which)) * len(part) // len(misses), len(pending))
            self._write(
                lambda part=part, vectors=vectors: self._upsert(
                    collection, part, np.vstack(vectors), snapshot.docs
                ),
                epoch,
            )
            progress("embed", start + len(part), len(pending))
        return embedded

    def whole_documents(self) -> tuple[dict[str, dict], list[Chunk]]:
        """The records and chunks of the documents Chroma holds completely (every passage, one
        content hash), in snapshot order; a document cut by a crash is left out, with one
        warning, so that the next sync adds it again."""
        collection = self.open(create=False)
        with self._server_requests():
            count = collection.count() if collection is not None else 0
            if not count:
                return {}, []
            got = collection.get(include=["documents", "metadatas"])
        by_doc: dict[str, list[tuple[Chunk, dict]]] = {}
        for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
            by_doc.setdefault(meta["doc_id"], []).append(
                (Chunk.from_metadata(cid, text, meta), meta)
            )
        docs: dict[str, dict] = {}
        chunks: list[Chunk] = []
        incomplete = 0
        for doc_id in sorted(by_doc):
            rows = sorted(by_doc[doc_id], key=lambda row: row[0].index)
            meta = rows[0][1]
            whole = (
                len({m.get("doc_hash") for _, m in rows}) == 1
                and meta.get("doc_hash")
                and [c.index for c, _ in rows] == list(range(int(meta.get("doc_chunks", -1))))
            )
            if not whole:
                incomplete += 1
                continue
            chunk = rows[0][0]
            docs[doc_id] = {
                "hash": meta["doc_hash"],
                "pipeline": PIPELINE_VERSION,
                "root": meta.get("root", ""),
                "source": meta.get("source", ""),
                "title": chunk.title,
                "outlet": chunk.outlet,
                "date": chunk.date,
                "author": chunk.author,
                "chunks": [c.chunk_id for c, _ in rows],
            }
            chunks.extend(c for c, _ in rows)
        if incomplete:
            log.warning(
                "Bỏ %d tài liệu chưa ghi đủ các đoạn trong Chroma; lần nạp sau sẽ nạp lại.",
                incomplete,
            )
        return docs, chunks

    def count(self) -> int:
        """Rows in the collection; 0 when there is none to read."""
        collection = self.open(create=False)
        with self._server_requests():
            return collection.count() if collection is not None else 0

    @contextlib.contextmanager
    def _server_requests(self):
        """A Chroma server's failure (gone since it was opened) as its one line; an embedded
        store's errors are left to the caller."""
        try:
            yield
        except Exception as exc:
            if not self.settings.chroma_host or isinstance(exc, StoreError):
                raise
            raise chroma.server_error(self.settings, exc) from None

    def _write(self, write: Callable[[], None], epoch: int) -> None:
        try:
            with self._server_requests():
                write()
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(write_failed(exc, "Chroma")) from exc
        chroma.note_write(self.settings, epoch)

    def _upsert(self, collection, chunks: list[Chunk], vectors: np.ndarray, docs) -> None:
        """Each row carries its document's hash and passage count, so a snapshot rebuilt from
        Chroma alone keeps only documents whose every passage was written."""
        collection.upsert(
            ids=[c.chunk_id for c in chunks],
            embeddings=vectors,
            documents=[c.text for c in chunks],
            metadatas=[{**c.to_metadata(), **_doc_metadata(docs[c.doc_id])} for c in chunks],
        )

    @staticmethod
    def _delete(collection, ids: list[str]) -> None:
        for i in range(0, len(ids), 2000):
            collection.delete(ids=ids[i : i + 2000])

    def _broken(self, exc: BaseException) -> StoreError:
        """The error to raise for a failed open or read: a server's one line (never a rebuild:
        nothing local is broken), or an embedded store called broken, with the way out."""
        if self.settings.chroma_host:
            return chroma.server_error(self.settings, exc)
        where = chroma.chroma_folder(self.settings)
        detail = describe(exc, with_type=True)
        return StoreError(f"Chroma ở {where} hỏng hoặc không mở được ({detail}); {REBUILD_HINT}.")


def _doc_metadata(record: dict) -> dict[str, str | int]:
    return {
        "doc_hash": record.get("hash", ""),
        "doc_chunks": len(record["chunks"]),
        "source": record.get("source") or "",
        "root": record.get("root") or "",
    }
