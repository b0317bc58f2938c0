"""The Chroma collection, its incremental sync by content hash, and the committed snapshot.

In: a folder (or files) of articles and an embedder. Out: Chroma holding chunks, vectors and
metadata, plus a `Snapshot` (manifest, chunks, BM25 index) that readers load as one unit.
A snapshot is written to a new folder and made current by an atomic rename, after Chroma has
been written, so readers never see a half-built index and Chroma and BM25 never disagree:
dense hits outside the current snapshot are dropped, and an interrupted sync is reconciled
at the start of the next one. Never changes the stored text: chunks are original slices.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import pickle
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from embeddings import LoadedEmbedder, collection_slug
from rag.chunking import Chunk, chunk_article, date_to_int
from rag.config import Settings
from rag.documents import (
    SUPPORTED_SUFFIXES,
    DocumentError,
    iter_document_paths,
    load_document,
)
from rag.lexical import LexicalIndex, index_tokens

log = logging.getLogger(__name__)

# Bump when loading, cleaning or chunking changes what a file turns into: every file re-ingests.
PIPELINE_VERSION = 1
Progress = Callable[[str, int, int], None]


class StoreError(RuntimeError):
    """The index cannot be read or written; the message says what to do."""


@dataclass(frozen=True)
class Filters:
    """Metadata filters; an unset field does not filter."""

    doc_ids: tuple[str, ...] | None = None
    outlet: str | None = None
    date_from: str | None = None  # ISO dates, inclusive
    date_to: str | None = None

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.doc_ids, self.outlet, self.date_from, self.date_to))

    def chroma_where(self) -> dict | None:
        conditions: list[dict] = []
        if self.doc_ids is not None:
            conditions.append({"doc_id": {"$in": list(self.doc_ids)}})
        if self.outlet is not None:
            conditions.append({"outlet": {"$eq": self.outlet}})
        if self.date_from is not None:
            conditions.append({"date_int": {"$gte": date_to_int(self.date_from)}})
        if self.date_to is not None:
            conditions.append({"date_int": {"$lte": date_to_int(self.date_to)}})
            conditions.append({"date_int": {"$gt": 0}})
        if not conditions:
            return None
        return conditions[0] if len(conditions) == 1 else {"$and": conditions}


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    chunks: int = 0
    embedded: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "added": self.added,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "chunks": self.chunks,
            "errors": [{"path": p, "reason": r} for p, r in self.errors],
        }


class Snapshot:
    """What readers see: documents, chunks in a fixed order, their tokens and the BM25 index."""

    def __init__(
        self,
        docs: dict[str, dict],
        chunks: list[Chunk],
        tokens: list[tuple[list[str], list[str]]] | Path,
        lexical: LexicalIndex | None = None,
        generation: str = "",
    ):
        self.docs = docs
        self.chunks = chunks
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
            {"pipeline": PIPELINE_VERSION, "docs": self.docs, "chunks": len(rows)},
        )

    @staticmethod
    def load_records(folder: Path) -> tuple[dict[str, dict], list[Chunk]]:
        """The manifest's documents and the chunk list, without the BM25 index."""
        manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
        with open(folder / "chunks.pkl", "rb") as f:
            chunks = [Chunk(*row) for row in pickle.load(f)["rows"]]
        if manifest.get("chunks") != len(chunks):
            raise ValueError(f"{folder}: manifest and chunk list disagree")
        return manifest["docs"], chunks

    @classmethod
    def load(cls, folder: Path) -> Snapshot:
        docs, chunks = cls.load_records(folder)
        lexical = LexicalIndex.load(folder, len(chunks))
        tokens = folder / "tokens.pkl"
        if not tokens.is_file():
            raise ValueError(f"{folder}: tokens.pkl is missing")
        return cls(docs, chunks, tokens, lexical, folder.name)


class Store:
    """One embedding model's index under `data_dir/<model>`: Chroma collection + snapshots."""

    def __init__(self, settings: Settings, embedder: LoadedEmbedder):
        self.settings = settings
        self.embedder = embedder
        slug = collection_slug(embedder.name)
        self.collection_name = f"chunks-{slug}"
        self.home = Path(settings.data_dir) / "index" / slug
        self._client = None
        self._collection = None
        self._snapshot: Snapshot | None = None
        self._snapshot_key: tuple | None = None

    # -- Chroma -------------------------------------------------------------------------------
    @property
    def collection(self):
        if self._collection is None:
            self._client = make_chroma_client(self.settings)
            self._collection = self._open_collection()
        return self._collection

    def _open_collection(self):
        def open_():
            return self._client.get_or_create_collection(
                self.collection_name,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"embedding_model": self.embedder.name},
            )

        collection = open_()
        sample = collection.get(limit=1, include=["embeddings"])["embeddings"]
        stored = len(sample[0]) if sample is not None and len(sample) else None
        expected = getattr(self.embedder.embedder, "dimension", None)
        if stored and expected and stored != expected:
            # Vectors of another model (a data folder copied from elsewhere, a model folder
            # replaced in place): they cannot be searched with this one; verify() re-embeds.
            log.warning(
                "Chroma '%s' chứa vector %d chiều của một mô hình khác (mô hình đang dùng: %d "
                "chiều); đang dựng lại từ nội dung đã lưu.",
                self.collection_name,
                stored,
                expected,
            )
            self._client.delete_collection(self.collection_name)
            collection = open_()
        return collection

    def verify(self, thorough: bool = False) -> None:
        """Make Chroma and the snapshot hold the same chunks again after a lost, damaged or
        foreign half, rebuilding from the half that is intact, with one warning. At start the
        counts are compared; after an interrupted sync (`thorough`) the ids themselves."""
        count = self.collection.count()
        if not (self.home / "CURRENT").exists():
            if count:
                log.warning("Không thấy chỉ mục từ khóa; đang dựng lại từ Chroma (%d đoạn).", count)
                self._rebuild_from_chroma()
            return
        snapshot = self.snapshot
        if count == len(snapshot.chunks) and not thorough:
            return
        stored = set(self.collection.get(include=[])["ids"])
        extra = sorted(stored - set(snapshot.position))
        missing = [c for c in snapshot.chunks if c.chunk_id not in stored]
        if extra:
            self._delete(extra)
        if missing:
            log.warning(
                "Chroma thiếu %d/%d đoạn; đang nhúng lại từ chỉ mục.",
                len(missing),
                len(snapshot.chunks),
            )
            vectors = self._embed([c.indexed_text for c in missing], _no_progress)
            self._upsert(missing, vectors, snapshot.docs)

    def dense_search(
        self, vector: list[float], n: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]:
        """(chunk_id, cosine similarity) of the n nearest chunks, best first."""
        size = self.collection.count()
        if size == 0:
            return []
        where = filters.chroma_where() if filters else None
        result = self.collection.query(
            query_embeddings=[vector], n_results=min(n, size), where=where, include=["distances"]
        )
        return [
            (cid, 1.0 - float(d))
            for cid, d in zip(result["ids"][0], result["distances"][0], strict=True)
        ]

    def _upsert(self, chunks: list[Chunk], vectors: np.ndarray, docs: dict[str, dict]) -> None:
        """Write chunks with their document's hash and path, so that the snapshot can be
        rebuilt from Chroma alone without re-embedding unchanged files afterwards."""
        batch = self._client.get_max_batch_size() if self._client else 1000
        batch = max(1, min(batch, 2000))
        for i in range(0, len(chunks), batch):
            part = chunks[i : i + batch]
            self.collection.upsert(
                ids=[c.chunk_id for c in part],
                embeddings=vectors[i : i + batch],
                documents=[c.text for c in part],
                metadatas=[{**c.to_metadata(), **_doc_metadata(docs[c.doc_id])} for c in part],
            )

    def _delete(self, ids: list[str]) -> None:
        for i in range(0, len(ids), 2000):
            self.collection.delete(ids=ids[i : i + 2000])

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
        if self._snapshot is None or key != self._snapshot_key:
            self._snapshot = self._load_snapshot() if key else Snapshot.empty()
            self._snapshot_key = key
        return self._snapshot

    def _load_snapshot(self) -> Snapshot:
        """The committed snapshot; a damaged one is rebuilt from what is intact (its own
        manifest and chunks, else Chroma), with one warning, never a failure."""
        folder = self.home / (self.home / "CURRENT").read_text("utf-8").strip()
        try:
            return Snapshot.load(folder)
        except Exception as exc:
            reason = _one_line(exc)
        try:
            docs, chunks = Snapshot.load_records(folder)
        except Exception:
            log.warning("Chỉ mục từ khóa hỏng (%s); đang dựng lại từ Chroma.", reason)
            return self._rebuild_from_chroma()
        log.warning("Chỉ mục BM25 hỏng (%s); đang dựng lại từ các đoạn đã lưu.", reason)
        snapshot = Snapshot(docs, chunks, self._tokenize([c.indexed_text for c in chunks]))
        self._commit(snapshot)
        return snapshot

    def _rebuild_from_chroma(self) -> Snapshot:
        got = self.collection.get(include=["documents", "metadatas"])
        rows = sorted(
            zip(got["ids"], got["documents"], got["metadatas"], strict=True),
            key=lambda row: (row[2]["doc_id"], int(row[2]["index"])),
        )
        chunks = [Chunk.from_metadata(cid, text, meta) for cid, text, meta in rows]
        docs: dict[str, dict] = {}
        for chunk, (_, _, meta) in zip(chunks, rows, strict=True):
            doc = docs.setdefault(
                chunk.doc_id,
                {
                    "hash": meta.get("doc_hash", ""),
                    "pipeline": PIPELINE_VERSION if meta.get("doc_hash") else 0,
                    "root": meta.get("root", ""),
                    "source": meta.get("source", ""),
                    "title": chunk.title,
                    "outlet": chunk.outlet,
                    "date": chunk.date,
                    "author": chunk.author,
                    "chunks": [],
                },
            )
            doc["chunks"].append(chunk.chunk_id)
        snapshot = Snapshot(docs, chunks, self._tokenize([c.indexed_text for c in chunks]))
        self._commit(snapshot)
        return snapshot

    def _tokenize(self, texts: list[str]) -> list[tuple[list[str], list[str]]]:
        tokenizing = _Tokenizing(texts)
        try:
            return tokenizing.result(_no_progress)
        finally:
            tokenizing.close()

    def _commit(self, snapshot: Snapshot) -> None:
        """Write the snapshot to a new folder and make it current with one atomic rename."""
        self.home.mkdir(parents=True, exist_ok=True)
        name = f"gen-{time.time_ns()}"
        snapshot.write(self.home / name)
        tmp = self.home / "CURRENT.tmp"
        tmp.write_text(name, "utf-8")
        os.replace(tmp, self.home / "CURRENT")
        snapshot.generation = name
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
    def _lock(self) -> Iterator[None]:
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / "ingest.lock", "w") as handle:
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
    ) -> IngestReport:
        """Make the index match `root` (or just `paths` under it): embed only what changed."""
        root = Path(root).resolve()
        if not root.exists():
            raise StoreError(f"Không tìm thấy đường dẫn: {root}")
        if root.is_file():
            paths, root, delete_missing = [root], root.parent, False
        with self._lock():
            return self._sync(root, paths, delete_missing, progress or _no_progress)

    def remove(self, doc_ids: Iterable[str]) -> IngestReport:
        """Take documents out of the index (their files are left alone)."""
        with self._lock():
            current = self._fresh_snapshot()
            gone = [d for d in doc_ids if d in current.docs]
            report = IngestReport(deleted=len(gone))
            if gone:
                self._apply(current, {}, set(gone), report)
            report.chunks = len(self.snapshot.chunks)
            return report

    def _fresh_snapshot(self) -> Snapshot:
        """The committed snapshot, with Chroma brought back to it if a sync was interrupted
        (its DIRTY marker is still there) or the two disagree."""
        self._snapshot = None
        dirty = self.home / "DIRTY"
        self.verify(thorough=dirty.exists())
        dirty.unlink(missing_ok=True)
        return self.snapshot

    def _sync(self, root: Path, paths, delete_missing: bool, progress: Progress) -> IngestReport:
        current = self._fresh_snapshot()
        report = IngestReport()
        files = list(paths) if paths is not None else iter_document_paths(root)
        seen: set[str] = set()
        fresh: dict[str, tuple[dict, list[Chunk]]] = {}
        for n, path in enumerate(files, 1):
            progress("load", n, len(files))
            path = Path(path).resolve()
            doc_id = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
            seen.add(doc_id)
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                report.errors.append((doc_id, f"loại tệp không được hỗ trợ ({path.suffix})"))
                continue
            old = current.docs.get(doc_id)
            try:
                digest = _file_hash(path)
            except OSError as exc:
                report.errors.append((doc_id, f"không đọc được tệp ({exc.strerror})"))
                continue
            if old and old.get("hash") == digest and old.get("pipeline") == PIPELINE_VERSION:
                report.unchanged += 1
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
        if delete_missing:
            gone = {
                d
                for d, rec in current.docs.items()
                if rec.get("root") == str(root) and d not in seen
            }
            report.deleted = len(gone)
        if fresh or gone:
            report.embedded = self._apply(current, fresh, gone, report, progress)
        report.chunks = len(self.snapshot.chunks)
        return report

    def _apply(
        self,
        current: Snapshot,
        fresh: dict[str, tuple[dict, list[Chunk]]],
        gone: set[str],
        report: IngestReport,
        progress: Progress = None,
    ) -> int:
        """Write Chroma first, then commit a snapshot; a crash in between is reconciled later."""
        progress = progress or _no_progress
        new_chunks = [c for _, chunks in fresh.values() for c in chunks]
        texts = [c.indexed_text for c in new_chunks]
        # pyvi (the slowest stage) runs in worker processes while Chroma is written here.
        tokenizing = _Tokenizing(texts)
        try:
            progress("embed", 0, len(texts))
            vectors = self._embed(texts, progress)
            (self.home / "DIRTY").touch()
            stale = [
                cid
                for d in set(fresh) | gone
                if d in current.docs
                for cid in current.docs[d]["chunks"]
            ]
            keep_new = {c.chunk_id for c in new_chunks}
            self._delete([cid for cid in stale if cid not in keep_new])
            progress("write", 0, len(new_chunks))
            if new_chunks:
                self._upsert(new_chunks, vectors, {d: rec for d, (rec, _) in fresh.items()})
            progress("write", len(new_chunks), len(new_chunks))
            del vectors
            tokens_new = tokenizing.result(progress)
        finally:
            tokenizing.close()
        docs = {d: rec for d, rec in current.docs.items() if d not in gone and d not in fresh}
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
        snapshot = Snapshot(docs, [r[0] for r in rows], [r[1] for r in rows])
        self._commit(snapshot)
        progress("bm25", 1, 1)
        (self.home / "DIRTY").unlink(missing_ok=True)
        return len(new_chunks)

    # -- embedding ------------------------------------------------------------------------------
    def _count_tokens(self, text: str) -> int:
        return self.embedder.embedder.count_tokens(text)

    def _max_tokens(self) -> int:
        limit = getattr(self.embedder.embedder, "max_tokens", None) or 512
        return min(self.settings.chunk_tokens, limit - 16)

    def _embed(self, texts: list[str], progress: Progress) -> np.ndarray:
        model = self.embedder.embedder
        out = []
        step = 256
        for i in range(0, len(texts), step):
            out.append(
                np.asarray(
                    model.embed_array(texts[i : i + step], show_progress=False), dtype=np.float32
                )
            )
            progress("embed", min(i + step, len(texts)), len(texts))
        dim = getattr(model, "dimension", 0)
        return np.vstack(out) if out else np.zeros((0, dim), dtype=np.float32)

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


class _Tokenizing:
    """`index_tokens` of many texts, in order: in worker processes (started at once, so that
    the caller can write Chroma meanwhile) when there is enough text to repay starting them,
    else here when the result is asked for.

    Each worker gets its whole share of texts when it starts and writes its tokens to a file:
    no thread of this process has to feed it or drain it, because Chroma's writes can hold
    the GIL for seconds and a `Pool` starves behind them.
    """

    # About five seconds of pyvi on one core; below it, starting workers costs more than it saves.
    PARALLEL_MIN_CHARS = 1_500_000

    def __init__(self, texts: list[str]):
        self.texts = texts
        self._workers: list[tuple[object, Path]] = []
        self._scratch: str | None = None
        n = os.cpu_count() or 1
        if n > 1 and sum(map(len, texts)) >= self.PARALLEL_MIN_CHARS:
            import multiprocessing
            import tempfile

            # spawn, not fork: this process may hold Chroma's and torch's threads.
            context = multiprocessing.get_context("spawn")
            self._scratch = tempfile.mkdtemp(prefix="rag-tokens-")
            step = -(-len(texts) // n)
            for i in range(0, len(texts), step):
                out = Path(self._scratch) / f"{i}.pkl"
                worker = context.Process(
                    target=_tokenize_to_file, args=(texts[i : i + step], str(out)), daemon=True
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


def _tokenize_to_file(texts: list[str], out: str) -> None:
    with open(out, "wb") as f:
        pickle.dump([index_tokens(t) for t in texts], f, protocol=5)


def make_chroma_client(settings: Settings):
    """Embedded PersistentClient under data_dir, or an HttpClient when a host is set."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if settings.chroma_host:
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
        path = Path(settings.data_dir) / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        where = (
            f"{settings.chroma_host}:{settings.chroma_port}"
            if settings.chroma_host
            else str(Path(settings.data_dir) / "chroma")
        )
        raise StoreError(f"Không mở được Chroma ở {where}: {exc}".splitlines()[0]) from exc


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


def _doc_metadata(record: dict) -> dict[str, str]:
    return {
        "doc_hash": record.get("hash", ""),
        "source": record.get("source") or "",
        "root": record.get("root") or "",
    }


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
