"""Chroma clients that follow writes made by other processes.

In: `Settings` (embedded folder under RAG_DATA_DIR, or a server and its RAG_CHROMA_AUTH). Out:
a client, and a way to notice that another process changed the embedded store so it is opened
again. A server that is down or refuses the login is one line (`ChromaUnavailable`) naming its
scheme, host and port, never its credentials.
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
from rag.errors import StoreError


class ChromaUnavailable(StoreError):
    """The Chroma server cannot be reached or refuses this client: one line naming its
    endpoint (never its credentials) and what to check. Nothing local is broken, so the line
    never advises a rebuild."""


_lock = threading.Lock()
_epochs: dict[str, int] = {}  # folder -> how many times this process re-opened it
_seen: dict[str, tuple | None] = {}  # folder -> marker state this process last knew about


def chroma_folder(settings: Settings) -> Path:
    return Path(settings.data_dir) / "chroma"


def make_client(settings: Settings, *, create: bool = True):
    """Embedded PersistentClient under data_dir, or an HttpClient when a host is set; None for
    an embedded folder that does not exist when `create` is off (nothing to read yet). A
    server that cannot be reached raises `ChromaUnavailable`; an embedded store's own error
    is raised as it is, for the caller to call the store broken."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    if settings.chroma_host:
        try:
            return chromadb.HttpClient(
                host=settings.chroma_url,
                ssl=settings.chroma_url.startswith("https:"),
                settings=ChromaSettings(anonymized_telemetry=False, **_auth(settings)),
            )
        except Exception as exc:
            raise server_error(settings, exc) from None
    path = chroma_folder(settings)
    if not (path / "chroma.sqlite3").is_file():
        if not create:
            return None
        path.mkdir(parents=True, exist_ok=True)
    # chromadb's shared-system cache is not safe against two threads creating at once.
    with _lock:
        return chromadb.PersistentClient(
            path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
        )


def _auth(settings: Settings) -> dict[str, str]:
    """chromadb's own client authentication for RAG_CHROMA_AUTH: user:password as HTTP Basic,
    anything else as a bearer token."""
    if not settings.chroma_auth:
        return {}
    basic = ":" in settings.chroma_auth
    provider = (
        "basic_authn.BasicAuthClientProvider" if basic else "token_authn.TokenAuthClientProvider"
    )
    return {
        "chroma_client_auth_provider": f"chromadb.auth.{provider}",
        "chroma_client_auth_credentials": settings.chroma_auth,
    }


def server_error(settings: Settings, exc: BaseException) -> ChromaUnavailable:
    """One line for a failed request to the Chroma server: unreachable, credentials refused,
    or the server's own error, redacted."""
    from rag.chain import redact

    where = settings.chroma_endpoint
    status = _http_status(exc)
    if status in (401, 403) or _caused_by(exc, "ChromaAuthError", "AuthorizationError"):
        return ChromaUnavailable(
            f"Máy chủ Chroma {where} từ chối đăng nhập: kiểm tra RAG_CHROMA_AUTH "
            "(người-dùng:mật-khẩu, hoặc token)."
        )
    gateway = status in (502, 503, 504)  # a proxy in front of a server that is down
    if gateway or _caused_by(exc, "TransportError", "ConnectionError", "TimeoutError"):
        return ChromaUnavailable(
            f"Không kết nối được máy chủ Chroma {where}: hãy kiểm tra máy chủ đang chạy và "
            "RAG_CHROMA_HOST, RAG_CHROMA_PORT."
        )
    detail = redact(" ".join(str(exc).split()), settings.secrets)[:200]
    return ChromaUnavailable(f"Máy chủ Chroma {where} báo lỗi: {detail or type(exc).__name__}.")


def _chain(exc: BaseException):
    """`exc` and the exceptions it was raised from or while handling."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _caused_by(exc: BaseException, *names: str) -> bool:
    """Whether an exception class of one of `names` (or a subclass) is in `exc`'s chain:
    chromadb re-raises httpx's errors as a bare ValueError while handling them."""
    return any(cls.__name__ in names for e in _chain(exc) for cls in type(e).__mro__)


def _http_status(exc: BaseException) -> int | None:
    for e in _chain(exc):
        response = getattr(e, "response", None)
        if response is not None and isinstance(getattr(response, "status_code", None), int):
            return response.status_code
    return None


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
