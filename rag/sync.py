"""What a sync changes, and the next snapshot it makes.

In: a folder (or some files under it) and the committed `Snapshot`. Out: a `Change` (documents
to add or replace with their chunks, to drop, to re-home) decided by content hash, with an
`IngestReport`; then the next `Snapshot`, its new chunks tokenized in worker processes when
there is enough text. Also the file locks writers take and the tokenizers' scratch folder.
Never commits anything itself, never reads a file `source_problem` refuses, and never lets an
unreadable new version replace a document's old one.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rag.documents import (
    SUPPORTED_SUFFIXES,
    DocumentError,
    iter_document_paths,
    load_document,
    source_problem,
)
from rag.errors import StoreError
from rag.lexical import index_tokens
from rag.snapshot import PIPELINE_VERSION, Snapshot, Tokens
from rag.sources import doc_id_for
from rag.types import Article, Chunk, IngestReport

Progress = Callable[[str, int, int], None]
Chunker = Callable[[Article], list[Chunk]]


def no_progress(stage: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class Change:
    """From one snapshot to the next: records and chunks of new or changed documents, the
    documents that leave, the records of unchanged files read from a new place, and the
    folder the next snapshot mirrors."""

    fresh: dict[str, tuple[dict, list[Chunk]]]
    gone: frozenset[str]
    moved: dict[str, dict]
    root: str | None


@contextlib.contextmanager
def file_lock(home: Path, name: str) -> Iterator[None]:
    """An exclusive lock shared with every process using `home` (ingest.lock, vectors.lock)."""
    home.mkdir(parents=True, exist_ok=True)
    with open(home / name, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def scan(
    root: Path,
    paths: Iterable[Path] | None,
    current: Snapshot,
    chunker: Chunker,
    *,
    delete_missing: bool,
    progress: Progress,
) -> tuple[IngestReport, Change | None]:
    """Compare `root`'s files (or `paths`) with `current` by content hash and chunk what is new
    or changed; the Change is None when the snapshot would stay as it is."""
    report = IngestReport()
    files = list(paths) if paths is not None else iter_document_paths(root)
    seen: set[str] = set()
    fresh: dict[str, tuple[dict, list[Chunk]]] = {}
    moved: dict[str, dict] = {}
    for n, path in enumerate(files, 1):
        progress("load", n, len(files))
        path = Path(os.path.abspath(path))
        doc_id = doc_id_for(path, root)
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
            digest = file_hash(path)
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
        chunks = chunker(article)
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
        return report, Change(fresh, frozenset(gone), moved, mirrored)
    return report, None


def next_snapshot(
    current: Snapshot, change: Change, scratch_root: Path, progress: Progress
) -> Snapshot:
    """`current` with `change` applied: new chunks tokenized, the rest of `current` reused."""
    fresh, gone = change.fresh, change.gone
    new_chunks = [c for _, chunks in fresh.values() for c in chunks]
    tokenizing = Tokenizing([c.indexed_text for c in new_chunks], scratch_root)
    try:
        tokens_new = tokenizing.result(progress)
    finally:
        tokenizing.close()
    docs = {d: rec for d, rec in current.docs.items() if d not in gone and d not in fresh}
    docs.update(change.moved)
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
    return Snapshot(docs, [r[0] for r in rows], [r[1] for r in rows], root=change.root)


def clean_scratch(scratch_root: Path) -> None:
    """Tokenizer scratch left by a killed ingest: only ingests (under their lock) make it."""
    for old in scratch_root.glob("rag-tokens-*"):
        shutil.rmtree(old, ignore_errors=True)


class Tokenizing:
    """`index_tokens` of many texts, in order: in worker processes when there is enough text to
    repay starting them, else in this process.

    Each worker reads its share of texts from a file in a scratch folder under RAG_DATA_DIR and
    writes its tokens to another (the folder is removed by the next sync if this process is
    killed). Its lifeline is its standard input, a pipe whose other end only this process
    holds: the kernel closes it when this process dies, however it dies, and the worker exits
    at once, watching it before it imports anything slow.
    """

    # About five seconds of pyvi on one core; below it, starting workers costs more than it saves.
    PARALLEL_MIN_CHARS = 1_500_000

    def __init__(self, texts: list[str], scratch_root: Path):
        self.texts = texts
        self._workers: list[tuple[subprocess.Popen, Path]] = []
        self._scratch: str | None = None
        n = os.cpu_count() or 1
        if n > 1 and sum(map(len, texts)) >= self.PARALLEL_MIN_CHARS:
            import tempfile

            scratch_root.mkdir(parents=True, exist_ok=True)
            self._scratch = tempfile.mkdtemp(prefix="rag-tokens-", dir=scratch_root)
            step = -(-len(texts) // n)
            # Where `rag` is imported from here: the worker imports the same code.
            home = str(Path(__file__).resolve().parent.parent)
            for i in range(0, len(texts), step):
                share, out = Path(self._scratch) / f"{i}.in", Path(self._scratch) / f"{i}.pkl"
                with open(share, "wb") as f:
                    pickle.dump(texts[i : i + step], f, protocol=5)
                worker = subprocess.Popen(
                    [sys.executable, "-c", _WORKER, home, str(share), str(out)],
                    stdin=subprocess.PIPE,
                )
                self._workers.append((worker, out))

    def result(self, progress: Progress) -> Tokens:
        total = len(self.texts)
        progress("tokenize", 0, total)
        tokens: Tokens = []
        if self._workers:
            for worker, out in self._workers:
                code = worker.wait()
                if code != 0:
                    raise StoreError(f"Tách từ thất bại (tiến trình con thoát mã {code}).")
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
            if worker.poll() is None:
                worker.kill()
            worker.wait()
            worker.stdin.close()
        self._workers = []
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None


# A worker's program. Its first lines watch the lifeline: the end of its standard input means
# that the process which started it has gone (killed, perhaps, with SIGKILL). The raw file
# descriptor, not sys.stdin: a daemon thread inside sys.stdin's lock aborts the interpreter's exit.
_WORKER = """
import os, sys, threading
threading.Thread(target=lambda: (os.read(0, 1), os._exit(1)), daemon=True).start()
sys.path.insert(0, sys.argv[1])
from rag.sync import tokenize_file
tokenize_file(sys.argv[2], sys.argv[3])
"""


def tokenize_file(share: str, out: str) -> None:
    """A worker's job: `index_tokens` of each text pickled in `share`, pickled into `out`."""
    with open(share, "rb") as f:
        texts = pickle.load(f)
    with open(out, "wb") as f:
        pickle.dump([index_tokens(t) for t in texts], f, protocol=5)


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
