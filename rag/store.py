"""The committed snapshot (the truth), its incremental sync by content hash, and its vectors.

In: a folder (or files) of articles and an embedder. Out: a `Snapshot` (manifest, chunks, BM25
index) that readers load as one unit, and a Chroma collection holding the snapshot's vectors.
A sync commits the snapshot first, by one atomic rename, as soon as files are chunked and
tokenized: lexical search sees it at once. Vectors follow (`build_vectors`): what the snapshot
holds and Chroma lacks is embedded in batches through a persistent cache, so a kill loses no
finished vector and no text is embedded twice; dense hits outside the snapshot are dropped.
Readers never write (a damaged or lost half is rebuilt in memory; only a sync, under the
ingest lock, commits the repair). Never changes the stored text: chunks are original slices.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import pickle
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from embeddings import LoadedEmbedder, collection_slug
from rag import chroma
from rag.chunking import chunk_article
from rag.config import Settings
from rag.dates import date_to_int
from rag.documents import (
    SUPPORTED_SUFFIXES,
    DocumentError,
    iter_document_paths,
    load_document,
    source_problem,
)
from rag.errors import StoreError, describe
from rag.lexical import LexicalIndex, index_tokens
from rag.types import Chunk, Filters, IngestReport
from rag.vectors import VectorCache

log = logging.getLogger(__name__)

# Bump when loading, cleaning or chunking changes what a file turns into: every file re-ingests.
PIPELINE_VERSION = 1
# Texts per call to the model: also how much a kill can lose of the vector cache's work.
EMBED_BATCH = 256
Progress = Callable[[str, int, int], None]


class Snapshot:
    """What readers see: documents, chunks in a fixed order, their tokens and the BM25 index."""

    def __init__(
        self,
        docs: dict[str, dict],
        chunks: list[Chunk],
        tokens: list[tuple[list[str], list[str]]] | Path,
        lexical: LexicalIndex | None = None,
        generation: str = "",
        root: str | None = None,
    ):
        self.docs = docs
        self.chunks = chunks
        # The folder the index mirrors (its last full sync), for `info` and for a moved corpus.
        self.root = root
        # Rebuilt in memory from an intact half after damage: the next sync commits it.
        self.repaired = False
        # A loaded snapshot reads its tokens only when a sync needs them: searching never
        # does, and at 100,000 passages they are most of the load time and memory.
        self._tokens = tokens
        if lexical is None:
            lexical = LexicalIndex.build(self.tokens)
        self.lexical = lexical
        self.generation = generation
        self.position = {c.chunk_id: i for i, c in enumerate(chunks)}
        self._doc_ids = np.array([c.doc_id for c in chunks], dtype=object)
        self._outlets = np.array([c.outlet or "" for c in chunks], dtype=object)
        self._dates = np.array([date_to_int(c.date) for c in chunks], dtype=np.int64)

    @property
    def tokens(self) -> list[tuple[list[str], list[str]]]:
        """Per chunk, the (words, folded) tokens its BM25 rows were built from."""
        if isinstance(self._tokens, Path):
            with open(self._tokens, "rb") as f:
                tokens = pickle.load(f)
            if len(tokens) != len(self.chunks):
                raise StoreError(f"{self._tokens}: token list and chunk list disagree")
            self._tokens = tokens
        return self._tokens

    @classmethod
    def empty(cls) -> Snapshot:
        return cls({}, [], [])

    def mask(self, filters: Filters | None) -> np.ndarray | None:
        """Boolean row mask for the lexical scores; None when nothing filters."""
        if not filters:
            return None
        mask = np.ones(len(self.chunks), dtype=bool)
        if filters.doc_ids is not None:
            mask &= np.isin(self._doc_ids, list(filters.doc_ids))
        if filters.outlet is not None:
            mask &= self._outlets == filters.outlet
        if filters.date_from is not None:
            mask &= self._dates >= date_to_int(filters.date_from)
        if filters.date_to is not None:
            mask &= (self._dates <= date_to_int(filters.date_to)) & (self._dates > 0)
        return mask

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True)
        rows = [
            (
                c.chunk_id,
                c.doc_id,
                c.index,
                c.text,
                c.start,
                c.end,
                c.title,
                c.outlet,
                c.date,
                c.author,
            )
            for c in self.chunks
        ]
        with open(folder / "chunks.pkl", "wb") as f:
            pickle.dump({"rows": rows}, f, protocol=5)
        with open(folder / "tokens.pkl", "wb") as f:
            pickle.dump(self.tokens, f, protocol=5)
        self.lexical.save(folder)
        _write_json(
            folder / "manifest.json",
            {
                "pipeline": PIPELINE_VERSION,
                "root": self.root,
                "docs": self.docs,
                "chunks": len(rows),
            },
        )

    @staticmethod
    def load_records(folder: Path) -> tuple[dict, list[Chunk]]:
        """The manifest and the chunk list, without the BM25 index."""
        manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
        with open(folder / "chunks.pkl", "rb") as f:
            chunks = [Chunk(*row) for row in pickle.load(f)["rows"]]
        if manifest.get("chunks") != len(chunks):
            raise ValueError(f"{folder}: manifest and chunk list disagree")
        return manifest, chunks

    @classmethod
    def load(cls, folder: Path) -> Snapshot:
        manifest, chunks = cls.load_records(folder)
        lexical = LexicalIndex.load(folder, len(chunks))
        tokens = folder / "tokens.pkl"
        if not tokens.is_file():
            raise ValueError(f"{folder}: tokens.pkl is missing")
        return cls(manifest["docs"], chunks, tokens, lexical, folder.name, manifest.get("root"))


class Store:
    """One embedding model's index under `data_dir/index/<model>`: snapshots + Chroma vectors."""

    def __init__(self, settings: Settings, embedder: LoadedEmbedder):
        self.settings = settings
        self.embedder = embedder
        slug = collection_slug(embedder.name)
        self.collection_name = f"chunks-{slug}"
        self.home = Path(settings.data_dir) / "index" / slug
        self._client = None
        self._collection = None
        self._epoch = -1
        self._foreign_warned = False
        self._full_warned = False
        self._snapshot: Snapshot | None = None
        self._snapshot_key: tuple | None = None
        self._pending: tuple[tuple, int] | None = None
        self._building = threading.Lock()

    # -- Chroma -------------------------------------------------------------------------------
    @property
    def collection(self):
        """The collection, created if missing (for writers and tests; searches never create)."""
        return self._open_collection(create=True)

    def _open_collection(self, *, create: bool):
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
                collection = client.get_or_create_collection(
                    self.collection_name,
                    embedding_function=None,
                    configuration={"hnsw": {"space": "cosine"}},
                    metadata={"embedding_model": self.embedder.name},
                )
            else:
                try:
                    collection = client.get_collection(self.collection_name)
                except Exception as exc:
                    if type(exc).__name__ == "NotFoundError":
                        return None
                    raise
            sample = collection.get(limit=1, include=["embeddings"])["embeddings"]
        except Exception as exc:
            if not create and _disk_full(exc):
                # Chroma writes to its SQLite file when it opens; searches must still answer.
                if not self._full_warned:
                    self._full_warned = True
                    log.warning(
                        "Đĩa đầy: Chroma không mở được để đọc; tạm thời chỉ tìm theo từ khóa."
                    )
                return None
            raise StoreError(_chroma_broken(self.settings, exc)) from exc
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
            collection = client.get_or_create_collection(
                self.collection_name,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"embedding_model": self.embedder.name},
            )
        self._client, self._collection, self._epoch = client, collection, epoch
        return collection

    def verify(self) -> None:
        """Load the committed snapshot now, so that damage is reported (and repaired in
        memory) at start rather than at the first question. Writes nothing."""
        self.snapshot  # noqa: B018 - loading is the check

    def dense_search(
        self, vector: list[float], n: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]:
        """(chunk_id, cosine similarity) of the n nearest chunks that have vectors, best first.
        The caller keeps only chunks of its snapshot: Chroma may lag behind it or hold rows
        of a newer one."""
        collection = self._open_collection(create=False)
        if collection is None:
            return []
        size = collection.count()
        if size == 0:
            return []
        where = filters.chroma_where() if filters else None
        result = collection.query(
            query_embeddings=[vector], n_results=min(n, size), where=where, include=["distances"]
        )
        return [
            (cid, 1.0 - float(d))
            for cid, d in zip(result["ids"][0], result["distances"][0], strict=True)
        ]

    def vectors_pending(self) -> int:
        """Chunks of the committed snapshot whose vectors are not in Chroma yet."""
        snapshot = self.snapshot
        if not snapshot.chunks:
            return 0
        collection = self._open_collection(create=False)
        if collection is None:
            return len(snapshot.chunks)
        key = (snapshot.generation, id(snapshot), chroma.marker_state(self.settings))
        key += (collection.count(),)
        if self._pending is None or self._pending[0] != key:
            stored = set(collection.get(include=[])["ids"])
            self._pending = (key, sum(c.chunk_id not in stored for c in snapshot.chunks))
        return self._pending[1]

    # -- vectors ------------------------------------------------------------------------------
    def build_vectors(self, progress: Progress | None = None) -> int:
        """Give every chunk of the committed snapshot its vector in Chroma and drop rows it no
        longer holds. Texts are looked up in the vector cache first; only misses are embedded,
        and each embedded batch is committed to the cache before Chroma is written. Safe to
        kill at any moment and to run again. Returns how many texts the model embedded."""
        progress = progress or _no_progress
        embedded = 0
        with self._building, self._file_lock("vectors.lock"):
            cache = VectorCache(
                Path(self.settings.data_dir) / "vectors.sqlite",
                self.embedder.name,
                int(getattr(self.embedder.embedder, "dimension", 0)),
            )
            try:
                while True:
                    snapshot = self.snapshot
                    embedded += self._build_vectors_of(snapshot, cache, progress)
                    if self.snapshot is snapshot:  # else a newer one was committed meanwhile
                        return embedded
            except (OSError, sqlite3.Error) as exc:
                raise StoreError(_write_failed(exc)) from exc
            finally:
                cache.close()

    def _build_vectors_of(self, snapshot: Snapshot, cache: VectorCache, progress) -> int:
        collection = self.collection
        epoch = self._epoch
        try:
            stored = set(collection.get(include=[])["ids"])
        except Exception as exc:
            raise StoreError(_chroma_broken(self.settings, exc)) from exc
        extra = sorted(stored - set(snapshot.position))
        pending = [c for c in snapshot.chunks if c.chunk_id not in stored]
        if extra:
            self._chroma_write(lambda: self._delete(collection, extra), epoch)
        if not pending:
            return 0
        embedded = 0
        batch = max(1, min(self.settings.write_batch, self._client.get_max_batch_size()))
        progress("embed", 0, len(pending))
        for start in range(0, len(pending), batch):
            part = pending[start : start + batch]
            texts = [c.indexed_text for c in part]
            vectors = cache.get(texts)
            misses = [i for i, v in enumerate(vectors) if v is None]
            for i in range(0, len(misses), EMBED_BATCH):
                which = misses[i : i + EMBED_BATCH]
                made = self.embed_passages([texts[j] for j in which])
                cache.put([texts[j] for j in which], made)
                for j, vector in zip(which, made, strict=True):
                    vectors[j] = vector
                embedded += len(which)
                progress("embed", start + (i + len(which)) * len(part) // len(misses), len(pending))
            self._chroma_write(
                lambda part=part, vectors=vectors: self._upsert(
                    collection, part, np.vstack(vectors), snapshot.docs
                ),
                epoch,
            )
            progress("embed", start + len(part), len(pending))
        return embedded

    def _chroma_write(self, write: Callable[[], None], epoch: int) -> None:
        try:
            write()
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(_write_failed(exc, "Chroma")) from exc
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

    # -- snapshot -----------------------------------------------------------------------------
    @property
    def snapshot(self) -> Snapshot:
        """The current snapshot, reloaded when another process has committed a newer one."""
        pointer = self.home / "CURRENT"
        try:
            stat = pointer.stat()
            key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        except FileNotFoundError:
            key = None
        snapshot = self._snapshot
        if snapshot is None or key != self._snapshot_key:
            snapshot = self._load_snapshot() if key else self._snapshot_from_chroma(missing=True)
            self._snapshot, self._snapshot_key = snapshot, key
        return snapshot

    def _load_snapshot(self) -> Snapshot:
        """The committed snapshot; a damaged one is rebuilt in memory from what is intact (its
        own manifest and chunks, else Chroma), with one warning, never a failure."""
        folder = self.home / (self.home / "CURRENT").read_text("utf-8").strip()
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
        snapshot = Snapshot(
            manifest["docs"],
            chunks,
            _tokenize([c.indexed_text for c in chunks]),
            root=manifest.get("root"),
        )
        snapshot.repaired = True
        return snapshot

    def _snapshot_from_chroma(self, *, missing: bool) -> Snapshot:
        """The documents Chroma holds completely (every passage, one content hash), as a
        snapshot in memory; a document cut by a crash is left out, so the next sync adds it."""
        collection = self._open_collection(create=False)
        count = collection.count() if collection is not None else 0
        if not count:
            return Snapshot.empty()
        if missing:
            log.warning("Không thấy chỉ mục từ khóa; đang dựng lại từ Chroma (%d đoạn).", count)
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
        roots = {d["root"] for d in docs.values()}
        snapshot = Snapshot(
            docs,
            chunks,
            _tokenize([c.indexed_text for c in chunks]),
            root=roots.pop() if len(roots) == 1 else None,
        )
        snapshot.repaired = True
        return snapshot

    def _commit(self, snapshot: Snapshot) -> None:
        """Write the snapshot to a new folder and make it current with one atomic rename; a
        write that fails (a full disk) leaves the previous snapshot current and no debris."""
        self.home.mkdir(parents=True, exist_ok=True)
        name = f"gen-{time.time_ns()}"
        tmp = self.home / "CURRENT.tmp"
        try:
            snapshot.write(self.home / name)
            tmp.write_text(name, "utf-8")
            os.replace(tmp, self.home / "CURRENT")
        except BaseException:
            shutil.rmtree(self.home / name, ignore_errors=True)
            tmp.unlink(missing_ok=True)
            raise
        snapshot.generation = name
        snapshot.repaired = False
        stat = (self.home / "CURRENT").stat()
        self._snapshot = snapshot
        self._snapshot_key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        self._prune(keep={name})

    def _prune(self, keep: set[str]) -> None:
        """Drop old generations, keeping the newest older one for readers still loading it."""
        old = sorted(
            (p for p in self.home.glob("gen-*") if p.name not in keep), key=lambda p: p.name
        )
        for path in old[:-1]:
            shutil.rmtree(path, ignore_errors=True)

    @contextlib.contextmanager
    def _file_lock(self, name: str) -> Iterator[None]:
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / name, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- sync ---------------------------------------------------------------------------------
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
        progress = progress or _no_progress
        with self._file_lock("ingest.lock"):
            try:
                report = self._sync(root, paths, delete_missing, progress)
            except OSError as exc:
                raise StoreError(_write_failed(exc)) from exc
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
        with self._file_lock("ingest.lock"), self._building, self._file_lock("vectors.lock"):
            self._collection = self._client = None
            if self.settings.chroma_host:
                with contextlib.suppress(Exception):
                    chroma.make_client(self.settings).delete_collection(self.collection_name)
            else:
                chroma.forget(self.settings)
                shutil.rmtree(chroma.chroma_folder(self.settings), ignore_errors=True)
            (self.home / "CURRENT").unlink(missing_ok=True)
            for old in self.home.glob("gen-*"):
                shutil.rmtree(old, ignore_errors=True)
            self._snapshot = Snapshot.empty()
            self._snapshot_key = None
        return self.sync(root, progress=progress)

    def remove(self, doc_ids: Iterable[str]) -> IngestReport:
        """Take documents out of the index (their files are left alone)."""
        with self._file_lock("ingest.lock"):
            current = self._fresh_snapshot()
            gone = [d for d in doc_ids if d in current.docs]
            report = IngestReport(deleted=len(gone))
            if gone:
                self._apply(current, {}, set(gone), current.root, _no_progress)
            report.chunks = len(self.snapshot.chunks)
        if gone:
            self.build_vectors()
        return report

    def _fresh_snapshot(self) -> Snapshot:
        """The committed snapshot as it is on disk now (repaired in memory if damaged)."""
        self._snapshot = None
        self._snapshot_key = None
        return self.snapshot

    def _clean_scratch(self) -> None:
        """Tokenizer scratch left by a killed ingest: only ingests (under this lock) make it."""
        for old in self._scratch_root().glob("rag-tokens-*"):
            shutil.rmtree(old, ignore_errors=True)

    def _scratch_root(self) -> Path:
        return Path(self.settings.data_dir) / "tmp"

    def _sync(self, root: Path, paths, delete_missing: bool, progress: Progress) -> IngestReport:
        self._clean_scratch()
        current = self._fresh_snapshot()
        report = IngestReport()
        files = list(paths) if paths is not None else iter_document_paths(root)
        seen: set[str] = set()
        fresh: dict[str, tuple[dict, list[Chunk]]] = {}
        moved: dict[str, dict] = {}
        for n, path in enumerate(files, 1):
            progress("load", n, len(files))
            # Not resolved: a link's own name is its doc_id, and where it leads is checked.
            path = Path(os.path.abspath(path))
            doc_id = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
            # Links and special files first: a FIFO or a linked folder has no suffix to judge.
            problem = source_problem(path, root)
            if problem:
                report.errors.append((doc_id, problem))
                continue
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                seen.add(doc_id)
                report.errors.append((doc_id, f"loại tệp không được hỗ trợ ({path.suffix})"))
                continue
            seen.add(doc_id)
            old = current.docs.get(doc_id)
            try:
                digest = _file_hash(path)
            except OSError as exc:
                report.errors.append((doc_id, f"không đọc được tệp ({exc.strerror})"))
                continue
            if old and old.get("hash") == digest and old.get("pipeline") == PIPELINE_VERSION:
                report.unchanged += 1
                if (old.get("root"), old.get("source")) != (str(root), str(path)):
                    moved[doc_id] = {**old, "root": str(root), "source": str(path)}
                continue
            try:
                article = load_document(path, root)
            except DocumentError as exc:
                # An existing document whose new version is unreadable keeps its old version.
                report.errors.append((doc_id, str(exc)))
                continue
            chunks = chunk_article(article, self._count_tokens, self._max_tokens())
            record = {
                "hash": digest,
                "pipeline": PIPELINE_VERSION,
                "root": str(root),
                "source": str(path),
                "title": article.title,
                "outlet": article.outlet,
                "date": article.date,
                "author": article.author,
                "chunks": [c.chunk_id for c in chunks],
            }
            fresh[doc_id] = (record, chunks)
            if old:
                report.updated += 1
            else:
                report.added += 1
        gone: set[str] = set()
        mirrored = current.root
        if delete_missing:
            # A file that left this folder leaves the index, and so does one whose file is gone
            # from wherever it was read: after the folder is moved or renamed and synced from
            # its new place, nothing of the old place lingers. Other folders' files stay.
            gone = {
                d
                for d, rec in current.docs.items()
                if d not in seen
                and (rec.get("root") == str(root) or not Path(rec.get("source") or "").exists())
            }
            report.deleted = len(gone)
            if report.added + report.updated + report.unchanged:
                mirrored = str(root)  # the folder the index mirrors, for `info`
        if fresh or gone or moved or current.repaired or mirrored != current.root:
            self._apply(current, fresh, gone, mirrored, progress, moved)
        report.chunks = len(self.snapshot.chunks)
        return report

    def _apply(
        self,
        current: Snapshot,
        fresh: dict[str, tuple[dict, list[Chunk]]],
        gone: set[str],
        root: str | None,
        progress: Progress,
        moved: dict[str, dict] | None = None,
    ) -> None:
        """Tokenize the new chunks and commit the next snapshot; Chroma follows later."""
        new_chunks = [c for _, chunks in fresh.values() for c in chunks]
        tokenizing = _Tokenizing([c.indexed_text for c in new_chunks], self._scratch_root())
        try:
            tokens_new = tokenizing.result(progress)
        finally:
            tokenizing.close()
        docs = {d: rec for d, rec in current.docs.items() if d not in gone and d not in fresh}
        docs.update(moved or {})
        docs.update({d: rec for d, (rec, _) in fresh.items()})
        by_id = dict(
            zip(
                (c.chunk_id for c in new_chunks),
                zip(new_chunks, tokens_new, strict=True),
                strict=True,
            )
        )
        rows: list[tuple[Chunk, tuple]] = []
        for doc_id in sorted(docs):
            if doc_id in fresh:
                rows.extend(by_id[cid] for cid in docs[doc_id]["chunks"])
            else:
                rows.extend(
                    (current.chunks[current.position[cid]], current.tokens[current.position[cid]])
                    for cid in docs[doc_id]["chunks"]
                )
        progress("bm25", 0, 1)
        snapshot = Snapshot(docs, [r[0] for r in rows], [r[1] for r in rows], root=root)
        self._commit(snapshot)
        progress("bm25", 1, 1)

    # -- embedding ------------------------------------------------------------------------------
    def _count_tokens(self, text: str) -> int:
        return self.embedder.embedder.count_tokens(text)

    def _max_tokens(self) -> int:
        limit = getattr(self.embedder.embedder, "max_tokens", None) or 512
        return min(self.settings.chunk_tokens, limit - 16)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Vectors of indexed passage texts, as the vector build makes them (float32 rows)."""
        model = self.embedder.embedder
        return np.asarray(model.embed_array(texts, show_progress=False), dtype=np.float32)

    # -- reading --------------------------------------------------------------------------------
    def chunk(self, chunk_id: str) -> Chunk | None:
        snap = self.snapshot
        pos = snap.position.get(chunk_id)
        return snap.chunks[pos] if pos is not None else None

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


def _tokenize(texts: list[str]) -> list[tuple[list[str], list[str]]]:
    """Tokens in this process (a reader repairing in memory starts no workers)."""
    return _Tokenizing(texts, None).result(_no_progress)


class _Tokenizing:
    """`index_tokens` of many texts, in order: in worker processes when there is enough text to
    repay starting them, else in this process.

    Each worker gets its whole share of texts when it starts and writes its tokens to a file in
    a scratch folder under RAG_DATA_DIR (removed by the next sync if this process is killed);
    a worker whose parent dies exits at once instead of tokenizing for nobody.
    """

    # About five seconds of pyvi on one core; below it, starting workers costs more than it saves.
    PARALLEL_MIN_CHARS = 1_500_000

    def __init__(self, texts: list[str], scratch_root: Path | None):
        self.texts = texts
        self._workers: list[tuple[object, Path]] = []
        self._scratch: str | None = None
        n = os.cpu_count() or 1
        if scratch_root and n > 1 and sum(map(len, texts)) >= self.PARALLEL_MIN_CHARS:
            import multiprocessing
            import tempfile

            # spawn, not fork: this process may hold Chroma's and torch's threads.
            context = multiprocessing.get_context("spawn")
            scratch_root.mkdir(parents=True, exist_ok=True)
            self._scratch = tempfile.mkdtemp(prefix="rag-tokens-", dir=scratch_root)
            step = -(-len(texts) // n)
            for i in range(0, len(texts), step):
                out = Path(self._scratch) / f"{i}.pkl"
                worker = context.Process(
                    target=_tokenize_to_file,
                    args=(texts[i : i + step], str(out), os.getpid()),
                    daemon=True,
                )
                worker.start()
                self._workers.append((worker, out))

    def result(self, progress: Progress) -> list[tuple[list[str], list[str]]]:
        total = len(self.texts)
        progress("tokenize", 0, total)
        tokens: list[tuple[list[str], list[str]]] = []
        if self._workers:
            for worker, out in self._workers:
                worker.join()
                if worker.exitcode != 0:
                    raise StoreError(
                        f"Tách từ thất bại (tiến trình con thoát mã {worker.exitcode})."
                    )
                with open(out, "rb") as f:
                    tokens.extend(pickle.load(f))
                progress("tokenize", len(tokens), total)
            return tokens
        for n, text in enumerate(self.texts, 1):
            tokens.append(index_tokens(text))
            if n % 500 == 0 or n == total:
                progress("tokenize", n, total)
        return tokens

    def close(self) -> None:
        for worker, _ in self._workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()
        self._workers = []
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None


def _tokenize_to_file(texts: list[str], out: str, parent: int) -> None:
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()
    with open(out, "wb") as f:
        pickle.dump([index_tokens(t) for t in texts], f, protocol=5)


def _exit_when_orphaned(parent: int) -> None:
    """A SIGKILLed parent cannot stop its workers; they notice being re-parented instead."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_json(path: Path, payload: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, ensure_ascii=False), "utf-8")
    os.replace(tmp, path)


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def _doc_metadata(record: dict) -> dict[str, str | int]:
    return {
        "doc_hash": record.get("hash", ""),
        "doc_chunks": len(record["chunks"]),
        "source": record.get("source") or "",
        "root": record.get("root") or "",
    }


REBUILD_HINT = "hãy chạy `python -m rag ingest --rebuild` để dựng lại chỉ mục từ thư mục tài liệu"


def _chroma_broken(settings: Settings, exc: BaseException) -> str:
    where = (
        f"{settings.chroma_host}:{settings.chroma_port}"
        if settings.chroma_host
        else chroma.chroma_folder(settings)
    )
    detail = str(exc).split(": ", 1)[-1] if isinstance(exc, chroma.ChromaUnavailable) else ""
    return f"Chroma ở {where} hỏng hoặc không mở được ({detail or describe(exc, with_type=True)}); {REBUILD_HINT}."


def _write_failed(exc: BaseException, what: str = "chỉ mục") -> str:
    """One line for a failed write; a full disk is named as such (the last index stays)."""
    if _disk_full(exc):
        return (
            f"Đĩa đầy: không ghi được {what}; chỉ mục trước vẫn nguyên vẹn và vẫn tìm được. "
            "Hãy giải phóng dung lượng rồi nạp lại."
        )
    return f"Không ghi được {what}: {describe(exc, with_type=True)}"


def _disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc).lower()
    return any(s in text for s in ("disk is full", "no space left", "quota exceeded"))
