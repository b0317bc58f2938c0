"""Chroma clients that follow writes made by other processes.

In: `Settings` (embedded folder under RAG_DATA_DIR, or a server host). Out: a client, and a way
to notice that another process changed the embedded store so it is opened again.
The embedded client keeps each collection's HNSW graph in memory: rows that another process
adds are counted but never returned by a query until the folder is opened anew. A writer
touches a marker file after each batch; a reader that finds it changed by someone else drops
chromadb's cached system for that folder, and every store of this process then re-opens.
Never writes on the read path: opening a missing embedded folder for reading gives no client.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

from rag.config import Settings


class ChromaUnavailable(RuntimeError):
    """Chroma cannot be opened; the message is one line naming where."""


_lock = threading.Lock()
_epochs: dict[str, int] = {}  # folder -> how many times this process re-opened it
_seen: dict[str, tuple | None] = {}  # folder -> marker state this process last knew about


def chroma_folder(settings: Settings) -> Path:
    return Path(settings.data_dir) / "chroma"


def make_client(settings: Settings, *, create: bool = True):
    """Embedded PersistentClient under data_dir, or an HttpClient when a host is set; None for
    an embedded folder that does not exist when `create` is off (nothing to read yet)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    path = chroma_folder(settings)
    try:
        if settings.chroma_host:
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
        if not (path / "chroma.sqlite3").is_file():
            if not create:
                return None
            path.mkdir(parents=True, exist_ok=True)
        # chromadb's shared-system cache is not safe against two threads creating at once.
        with _lock:
            return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        where = f"{settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host else path
        raise ChromaUnavailable(
            f"Không mở được Chroma ở {where}: {' '.join(str(exc).split())[:200]}"
        ) from exc


def epoch(settings: Settings) -> int:
    """Bumped when this process drops its cached client of the folder: re-open when it moved."""
    with _lock:
        return _epochs.get(str(chroma_folder(settings)), 0)


def _marker(settings: Settings) -> Path:
    return chroma_folder(settings) / "WRITTEN"


def marker_state(settings: Settings) -> tuple | None:
    """Changes with every write to the embedded store, by any process."""
    return _marker_state(_marker(settings))


def _marker_state(marker: Path) -> tuple | None:
    try:
        stat = marker.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def note_write(settings: Settings, writer_epoch: int) -> None:
    """After a write: tell other processes, and this one that it already sees it (unless the
    writer's client is an old one that readers here have already replaced)."""
    if settings.chroma_host:
        return
    marker = _marker(settings)
    tmp = marker.with_name(f"WRITTEN.{os.getpid()}.{threading.get_ident()}.tmp")
    folder = str(chroma_folder(settings))
    # Under the lock: a reader of this process must never see the new marker before it is
    # known here, or it would take this process's own write for another's.
    with _lock:
        tmp.write_text(str(time.time_ns()), "utf-8")
        tmp.replace(marker)
        if _epochs.get(folder, 0) == writer_epoch:
            _seen[folder] = _marker_state(marker)


def follow_foreign_writes(settings: Settings) -> None:
    """Drop the cached embedded client when another process wrote since this one last looked."""
    if settings.chroma_host:
        return
    from chromadb.api.shared_system_client import SharedSystemClient

    folder = str(chroma_folder(settings))
    state = _marker_state(_marker(settings))
    with _lock:
        if folder not in _seen:
            _seen[folder] = state
            return
        if _seen[folder] == state:
            return
        _seen[folder] = state
        # Not stopped: a search on another thread may still be using the old system.
        SharedSystemClient._identifier_to_system.pop(folder, None)
        _epochs[folder] = _epochs.get(folder, 0) + 1


def forget(settings: Settings) -> None:
    """Drop this process's cached system of the folder (before it is deleted and rebuilt)."""
    from chromadb.api.shared_system_client import SharedSystemClient

    folder = str(chroma_folder(settings))
    with _lock:
        system = SharedSystemClient._identifier_to_system.pop(folder, None)
        _epochs[folder] = _epochs.get(folder, 0) + 1
        _seen.pop(folder, None)
    if system is not None:
        with contextlib.suppress(Exception):  # a broken store is what is thrown away
            system.stop()
