"""One embedding model's index: the committed snapshot (the truth) and its vectors in Chroma.

In: a folder (or files) of articles and an embedder. Out: the current `Snapshot` that readers
load as one unit, dense search over its vectors, and `sync`/`rebuild`/`remove` that change it.
A sync commits the snapshot first (`rag.snapshot`, one atomic rename) as soon as files are
chunked and tokenized (`rag.sync`): lexical search sees it at once. Vectors follow
(`build_vectors`, `rag.dense`): a kill loses no finished vector and no text is embedded twice;
dense hits outside the snapshot are dropped. Readers never write: a damaged or lost half is
rebuilt in memory, and only a sync, under the ingest lock, commits the repair.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from embeddings import LoadedEmbedder, collection_slug
from rag import snapshot as snapshots
from rag.chunking import chunk_article
from rag.config import Settings
from rag.dense import DenseIndex, Progress
from rag.errors import StoreError, describe, write_failed
from rag.snapshot import Snapshot
from rag.sync import Change, clean_scratch, file_lock, next_snapshot, no_progress, scan
from rag.types import Article, Chunk, Filters, IngestReport
from rag.vectors import VectorCache

log = logging.getLogger(__name__)


class Store:
    """One embedding model's index under `data_dir/index/<model>`: snapshots + Chroma vectors."""

    def __init__(self, settings: Settings, embedder: LoadedEmbedder):
        self.settings = settings
        self.embedder = embedder
        self.home = Path(settings.data_dir) / "index" / collection_slug(embedder.name)
        self.dense = DenseIndex(settings, embedder)
        self.collection_name = self.dense.collection_name
        self._snapshot: Snapshot | None = None
        self._snapshot_key: tuple | None = None
        self._building = threading.Lock()

    # -- reading --------------------------------------------------------------------------------
    @property
    def snapshot(self) -> Snapshot:
        """The current snapshot, reloaded when another process has committed a newer one."""
        key = snapshots.current_key(self.home)
        snapshot = self._snapshot
        if snapshot is None or key != self._snapshot_key:
            snapshot = self._load_snapshot() if key else self._snapshot_from_chroma(missing=True)
            self._snapshot, self._snapshot_key = snapshot, key
        return snapshot

    def verify(self) -> None:
        """Load the committed snapshot now, so that damage is reported (and repaired in
        memory) at start rather than at the first question. Writes nothing."""
        self.snapshot  # noqa: B018 - loading is the check

    def documents(self) -> list[dict]:
        """One row per indexed document: doc_id, title, outlet, date, chunks."""
        return [
            {
                "doc_id": d,
                "title": r.get("title", ""),
                "outlet": r.get("outlet"),
                "date": r.get("date"),
                "chunks": len(r["chunks"]),
                "source": r.get("source"),
            }
            for d, r in sorted(self.snapshot.docs.items())
        ]

    @property
    def collection(self):
        """The collection, created if missing (for writers and tests; searches never create)."""
        return self.dense.open(create=True)

    def dense_search(
        self, vector: list[float], n: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]:
        """(chunk_id, cosine similarity) of the n nearest chunks that have vectors, best first;
        the caller keeps only chunks of its snapshot."""
        return self.dense.search(vector, n, filters)

    def vectors_pending(self) -> int:
        """Chunks of the committed snapshot whose vectors are not in Chroma yet."""
        return self.dense.pending(self.snapshot)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Vectors of indexed passage texts, as the vector build makes them (float32 rows)."""
        return self.dense.embed(texts)

    def _load_snapshot(self) -> Snapshot:
        """The committed snapshot; a damaged one is rebuilt in memory from what is intact (its
        own manifest and chunks, else Chroma), with one warning, never a failure."""
        folder = snapshots.current_folder(self.home)
        try:
            return Snapshot.load(folder)
        except Exception as exc:
            reason = describe(exc, with_type=True)
        try:
            manifest, chunks = Snapshot.load_records(folder)
        except Exception:
            log.warning("Chỉ mục từ khóa hỏng (%s); đang dựng lại từ Chroma.", reason)
            return self._snapshot_from_chroma(missing=False)
        log.warning("Chỉ mục BM25 hỏng (%s); đang dựng lại từ các đoạn đã lưu.", reason)
        return Snapshot.repaired_from(manifest["docs"], chunks, manifest.get("root"))

    def _snapshot_from_chroma(self, *, missing: bool) -> Snapshot:
        """The documents Chroma holds completely, as a snapshot in memory."""
        count = self.dense.count()
        if not count:
            return Snapshot.empty()
        if missing:
            log.warning("Không thấy chỉ mục từ khóa; đang dựng lại từ Chroma (%d đoạn).", count)
        docs, chunks = self.dense.whole_documents()
        roots = {d["root"] for d in docs.values()}
        return Snapshot.repaired_from(docs, chunks, roots.pop() if len(roots) == 1 else None)

    def _fresh_snapshot(self) -> Snapshot:
        """The committed snapshot as it is on disk now (repaired in memory if damaged)."""
        self._snapshot = None
        self._snapshot_key = None
        return self.snapshot

    # -- writing --------------------------------------------------------------------------------
    def sync(
        self,
        root: Path,
        paths: Iterable[Path] | None = None,
        *,
        delete_missing: bool = True,
        progress: Progress | None = None,
        vectors: bool = True,
    ) -> IngestReport:
        """Make the index match `root` (or just `paths` under it) and commit it; then, unless
        `vectors` is off (the page builds them in the background), embed what lacks a vector."""
        root = Path(root).resolve()
        if not root.exists():
            raise StoreError(f"Không tìm thấy đường dẫn: {root}")
        if root.is_file():
            paths, root, delete_missing = [root], root.parent, False
        progress = progress or no_progress
        with file_lock(self.home, "ingest.lock"):
            try:
                clean_scratch(self._scratch_root())
                current = self._fresh_snapshot()
                report, change = scan(
                    root,
                    paths,
                    current,
                    self._chunk,
                    delete_missing=delete_missing,
                    progress=progress,
                )
                if change is not None:
                    self._apply(current, change, progress)
                report.chunks = len(self.snapshot.chunks)
            except OSError as exc:
                raise StoreError(write_failed(exc)) from exc
        if vectors:
            report.embedded = self.build_vectors(progress)
        return report

    def rebuild(self, root: Path, progress: Progress | None = None) -> IngestReport:
        """Index `root` into a fresh store: this model's snapshots and the whole embedded
        Chroma folder (or this model's server collection) are dropped first. The vector cache
        is kept, so nothing already embedded is embedded again."""
        root = Path(root).resolve()
        if not root.exists():
            raise StoreError(f"Không tìm thấy đường dẫn: {root}")
        with (
            file_lock(self.home, "ingest.lock"),
            self._building,
            file_lock(self.home, "vectors.lock"),
        ):
            self.dense.drop()
            snapshots.drop_all(self.home)
            self._snapshot = Snapshot.empty()
            self._snapshot_key = None
        return self.sync(root, progress=progress)

    def remove(self, doc_ids: Iterable[str]) -> IngestReport:
        """Take documents out of the index (their files are left alone)."""
        with file_lock(self.home, "ingest.lock"):
            current = self._fresh_snapshot()
            gone = frozenset(d for d in doc_ids if d in current.docs)
            report = IngestReport(deleted=len(gone))
            if gone:
                self._apply(current, Change({}, gone, {}, current.root), no_progress)
            report.chunks = len(self.snapshot.chunks)
        if gone:
            self.build_vectors()
        return report

    def build_vectors(self, progress: Progress | None = None) -> int:
        """Give every chunk of the committed snapshot its vector in Chroma and drop rows it no
        longer holds, until the snapshot built is still the current one. Safe to kill at any
        moment and to run again. Returns how many texts the model embedded."""
        progress = progress or no_progress
        embedded = 0
        with self._building, file_lock(self.home, "vectors.lock"):
            cache = VectorCache(
                Path(self.settings.data_dir) / "vectors.sqlite",
                self.embedder.name,
                int(getattr(self.embedder.embedder, "dimension", 0)),
            )
            try:
                while True:
                    snapshot = self.snapshot
                    embedded += self.dense.build(snapshot, cache, progress)
                    if self.snapshot is snapshot:  # else a newer one was committed meanwhile
                        return embedded
            except (OSError, sqlite3.Error) as exc:
                raise StoreError(write_failed(exc)) from exc
            finally:
                cache.close()

    def _apply(self, current: Snapshot, change: Change, progress: Progress) -> None:
        """Commit the next snapshot (under the ingest lock); Chroma follows later."""
        snapshot = next_snapshot(current, change, self._scratch_root(), progress)
        self._snapshot_key = snapshots.commit(self.home, snapshot)
        self._snapshot = snapshot
        progress("bm25", 1, 1)

    def _chunk(self, article: Article) -> list[Chunk]:
        model = self.embedder.embedder
        limit = getattr(model, "max_tokens", None) or 512
        return chunk_article(
            article, model.count_tokens, min(self.settings.chunk_tokens, limit - 16)
        )

    def _scratch_root(self) -> Path:
        return Path(self.settings.data_dir) / "tmp"
