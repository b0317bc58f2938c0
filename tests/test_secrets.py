"""LLM credentials (the API key, user:password@ and ?api-key= in RAG_LLM_BASE_URL) never appear
in logs, errors, the CLI's output, `info`, the page's status line or its /config: only the
endpoint's scheme, host and port are shown."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import urllib.request

import pytest

from embeddings import load_embedder
from rag.assistant import Assistant
from rag.chain import redact
from rag.config import Settings
from rag.errors import ConfigError
from rag.retrieval import Retriever
from rag.store import Store
from tests.conftest import REPO, free_port
from tests.llm_stub import Reply, StubLLM

KEY = "sk-TOPSECRET-0123456789-cdef"
MASKED_KEY = "sk-TOP...cdef"  # how OpenAI-style servers quote a wrong key back
URL_PASSWORD = "sk-X-mat-khau-url"
URL_QUERY_KEY = "sk-Y-khoa-truy-van"
BASIC = "Basic c3ZjOnNrLVgtbWF0LWtoYXUtdXJs"  # base64 of "svc:" + URL_PASSWORD
SECRETS = (KEY, MASKED_KEY, URL_PASSWORD, URL_QUERY_KEY, BASIC.split()[1], "svc:")
WHO = "Ai là Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK?"
# A server that quotes back everything it was sent, as some do in their errors.
ECHO = (
    "Khóa không hợp lệ: Authorization: {authorization}; đường dẫn {path}; "
    f"khóa đã nhận {MASKED_KEY}; "
    "gọi lại http://svc:" + URL_PASSWORD + "@máy-chủ/v1?api-key=" + URL_QUERY_KEY
)


def secret_url(port: int) -> str:
    return f"http://svc:{URL_PASSWORD}@127.0.0.1:{port}/v1?api-key={URL_QUERY_KEY}"


def leaked(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def test_settings_repr_hides_the_key_and_the_url():
    settings = Settings.from_env(
        env={"RAG_LLM_API_KEY": KEY, "RAG_AUTH": "an:matkhau", "RAG_LLM_BASE_URL": secret_url(1)}
    )
    assert leaked(repr(settings)) == [] and "matkhau" not in repr(settings)
    assert settings.llm_api_key == KEY


@pytest.mark.parametrize(
    ("url", "model", "endpoint", "display"),
    [
        ("http://svc:sk-X@host/v1?api-key=sk-Y", None, "http://host:80", "http://host:80"),
        ("https://host/v1", "qwen2.5-7b", "https://host:443", "qwen2.5-7b"),
        ("http://[::1]:8000/v1#x", None, "http://[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_the_llm_is_shown_by_scheme_host_and_port_only(url, model, endpoint, display):
    env = {"RAG_LLM_BASE_URL": url} | ({"RAG_LLM_MODEL": model} if model else {})
    settings = Settings.from_env(env=env)
    assert (settings.llm_endpoint, settings.llm_display) == (endpoint, display)


@pytest.mark.parametrize("url", ["svc:sk-X@host:8000/v1", "ftp://host/v1", "http://host:sk-X/v1"])
def test_an_unusable_llm_url_is_refused_without_repeating_it(url):
    with pytest.raises(ConfigError) as error:
        Settings.from_env(env={"RAG_LLM_BASE_URL": url})
    assert str(error.value) == (
        "RAG_LLM_BASE_URL không hợp lệ: cần dạng http://máy:cổng/v1 hoặc https://máy/v1"
    )


CHROMA_PASSWORD = "mat-khau-chroma-42"


@pytest.mark.parametrize(
    ("host", "port", "url", "endpoint"),
    [
        ("127.0.0.1", "8123", "http://127.0.0.1:8123", "http://127.0.0.1:8123"),
        ("chroma.noibo:9000", "8123", "http://chroma.noibo:9000", "http://chroma.noibo:9000"),
        (
            "https://chroma.noibo/kho/",
            None,
            "https://chroma.noibo:8000/kho",
            "https://chroma.noibo:8000",
        ),
        ("http://[::1]:8001", None, "http://[::1]:8001", "http://[::1]:8001"),
    ],
)
def test_the_chroma_server_is_a_host_or_a_url_shown_by_scheme_host_and_port(
    host, port, url, endpoint
):
    env = {"RAG_CHROMA_HOST": host} | ({"RAG_CHROMA_PORT": port} if port else {})
    settings = Settings.from_env(env=env)
    assert (settings.chroma_url, settings.chroma_endpoint) == (url, endpoint)


@pytest.mark.parametrize(
    "host",
    [
        f"http://svc:{CHROMA_PASSWORD}@127.0.0.1",
        f"svc:{CHROMA_PASSWORD}@127.0.0.1:8000",
        f"https://127.0.0.1/?token={CHROMA_PASSWORD}",
    ],
)
def test_credentials_in_the_chroma_host_are_refused_naming_the_setting_to_use(host):
    with pytest.raises(ConfigError) as error:
        Settings.from_env(env={"RAG_CHROMA_HOST": host})
    assert str(error.value) == (
        "RAG_CHROMA_HOST không được chứa tên người dùng, mật khẩu hay khóa: "
        "đặt chúng vào RAG_CHROMA_AUTH (người-dùng:mật-khẩu, hoặc một token)"
    )


def test_every_credential_a_setting_holds_is_known_for_redaction():
    settings = Settings.from_env(
        env={
            "RAG_CHROMA_HOST": "127.0.0.1",
            "RAG_CHROMA_AUTH": f"svc:{CHROMA_PASSWORD}",
            "RAG_LLM_BASE_URL": secret_url(1),
            "RAG_LLM_API_KEY": KEY,
            "RAG_AUTH": "an:matkhau,binh:matkhau2",
        }
    )
    basic = "c3ZjOm1hdC1raGF1LWNocm9tYS00Mg=="  # base64 of "svc:" + CHROMA_PASSWORD
    assert set(settings.secrets) == {
        f"svc:{CHROMA_PASSWORD}",
        CHROMA_PASSWORD,
        basic,
        *settings.llm_secrets,
        "matkhau",
        "matkhau2",
    }
    assert CHROMA_PASSWORD not in repr(settings)
    assert redact(f"401 Authorization: Basic {basic}", settings.secrets) == (
        "401 Authorization: Basic ***"
    )


def test_redact_removes_every_kind_of_credential():
    text = (
        f"401 {BASIC} / Bearer {KEY} / khóa {MASKED_KEY} / "
        f"http://svc:{URL_PASSWORD}@h:1/v1?api-key={URL_QUERY_KEY}&x=1 / "
        '{"api_key": "abc123", "password": "mat-khau"} / token=t0k3n / '
        "sk-proj-Zz9 / id a1b2c3d4e5f6a7b8c9d0e1f2a3 / lỗi máy chủ 502"
    )
    assert redact(text, [KEY, URL_PASSWORD]) == (
        "401 Basic *** / Bearer *** / khóa *** / http://***@h:1/v1?*** / "
        '{"api_key": "***", "password": "***"} / token=*** / '
        "sk-*** / id *** / lỗi máy chủ 502"
    )


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, seed_corpus):
    env = {
        **os.environ,
        "RAG_DATA_DIR": str(tmp_path_factory.mktemp("secrets") / "data"),
        "RAG_EMBEDDING_MODEL": "hashing",
        "PYTHONPATH": str(REPO),
    }
    run = [sys.executable, "-m", "rag", "ingest", str(seed_corpus)]
    assert subprocess.run(run, env=env, capture_output=True).returncode == 0
    return env


def rag(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag", *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_a_server_that_quotes_the_key_does_not_leak_it(ingested):
    with StubLLM() as stub:
        stub.queue(Reply(status=401, echo_auth=True))
        result = rag(
            {**ingested, "RAG_LLM_BASE_URL": stub.base_url, "RAG_LLM_API_KEY": KEY},
            "ask",
            WHO,
            "--json",
        )
    assert stub.headers[0]["authorization"] == f"Bearer {KEY}"  # the key was really sent
    assert result.returncode == 0
    assert "Khóa không hợp lệ: Bearer ***" in result.stderr  # the server's error, redacted
    assert leaked(result.stderr + result.stdout) == []
    assert "Lê Minh Đức" in result.stdout


@pytest.mark.slow
def test_credentials_in_the_url_and_echoed_errors_never_reach_the_output(ingested):
    with StubLLM() as stub:
        port = stub.server.server_address[1]
        stub.queue(Reply(status=401, message=ECHO))
        env = {**ingested, "RAG_LLM_BASE_URL": secret_url(port), "RAG_LLM_API_KEY": KEY}
        result = rag(env, "ask", WHO, "--json")
        info = rag(env, "info", "--json")
        info_text = rag(env, "info")
    # What the client really sent: user:password@ as HTTP Basic, the query apart from the path.
    assert stub.headers[0]["authorization"] == BASIC
    assert stub.paths == [f"/v1/chat/completions?api-key={URL_QUERY_KEY}"]
    assert result.returncode == 0
    assert json.loads(result.stdout)["mode"] == "extractive"
    assert result.stderr == (
        f"LLM (http://127.0.0.1:{port}): OpenAIAuthenticationError: Error code: 401 - "
        "Khóa không hợp lệ: Authorization: Basic ***; đường dẫn /v1/chat/completions?api-key=***; "
        "khóa đã nhận ***; gọi lại http://***@máy-chủ/v1?***\n"
    )
    assert json.loads(info.stdout)["llm"] == f"http://127.0.0.1:{port}"
    assert f"LLM: http://127.0.0.1:{port}\n" in info_text.stdout
    for output in (result, info, info_text):
        assert leaked(output.stdout + output.stderr) == []


@pytest.fixture(scope="module")
def store(tmp_path_factory, seed_corpus):
    data = tmp_path_factory.mktemp("secrets-store") / "data"
    store = Store(Settings.from_env(env={"RAG_DATA_DIR": str(data)}), load_embedder("hashing"))
    store.sync(seed_corpus)
    return store


def secret_assistant(store, llm_port: int) -> Assistant:
    settings = Settings.from_env(
        env={
            "RAG_DATA_DIR": str(store.settings.data_dir),
            "RAG_LLM_BASE_URL": secret_url(llm_port),
            "RAG_LLM_API_KEY": KEY,
        }
    )
    return Assistant(settings, Retriever(store, settings))


def test_http_request_logs_show_no_credentials(store, caplog):
    with StubLLM() as stub:
        port = stub.server.server_address[1]
        stub.queue("**Lê Minh Đức** [1]")
        # The OpenAI client's HTTP library logs every request's URL at INFO (the page logs INFO).
        with caplog.at_level(logging.INFO, logger="httpx2"):
            answer = secret_assistant(store, port).ask(WHO)
    assert answer.mode == "llm"
    assert caplog.messages == [
        f'HTTP Request: POST http://***@127.0.0.1:{port}/v1/chat/completions?*** "HTTP/1.0 200 OK"'
    ]


@pytest.mark.slow
def test_the_page_status_and_its_config_show_only_the_endpoint(store):
    from app import ChatPage, create_app

    port = free_port()
    assistant = secret_assistant(store, port + 1)
    status = ChatPage(assistant).status()
    assert "Trả lời bằng mô hình ngôn ngữ · 5 tài liệu</summary>" in status
    assert f"<li>Câu trả lời: mô hình ngôn ngữ {assistant.status().llm}, kèm" in status
    assert leaked(status) == []
    app = create_app(assistant)
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=30) as response:
            config = response.read().decode()
    finally:
        app.close()
    assert f"mô hình ngôn ngữ http://127.0.0.1:{port + 1}" in config
    assert leaked(config) == []
