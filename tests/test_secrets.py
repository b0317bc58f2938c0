"""The LLM API key never appears in logs, errors, the CLI's output or reports."""

from __future__ import annotations

import os
import subprocess
import sys

from rag.config import Settings
from tests.conftest import REPO
from tests.llm_stub import Reply, StubLLM

KEY = "sk-khoa-bi-mat-0123456789"


def test_settings_repr_hides_the_key():
    settings = Settings.from_env(env={"RAG_LLM_API_KEY": KEY, "RAG_AUTH": "an:matkhau"})
    assert KEY not in repr(settings) and "matkhau" not in repr(settings)
    assert settings.llm_api_key == KEY


def test_a_server_that_quotes_the_key_does_not_leak_it(tmp_path, seed_corpus):
    env = {
        **os.environ,
        "RAG_DATA_DIR": str(tmp_path / "data"),
        "RAG_EMBEDDING_MODEL": "hashing",
        "PYTHONPATH": str(REPO),
    }
    run = [sys.executable, "-m", "rag"]
    assert (
        subprocess.run([*run, "ingest", str(seed_corpus)], env=env, capture_output=True).returncode
        == 0
    )
    with StubLLM() as stub:
        stub.queue(Reply(status=401, echo_auth=True))
        result = subprocess.run(
            [*run, "ask", "Ai là Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK?", "--json"],
            env={**env, "RAG_LLM_BASE_URL": stub.base_url, "RAG_LLM_API_KEY": KEY},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert stub.headers[0]["authorization"] == f"Bearer {KEY}"  # the key was really sent
    assert result.returncode == 0
    assert "Khóa không hợp lệ: Bearer ***" in result.stderr  # the server's error, redacted
    assert KEY not in result.stderr and KEY not in result.stdout
    assert "Lê Minh Đức" in result.stdout
