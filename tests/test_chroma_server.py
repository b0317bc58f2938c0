"""Client-server mode: a real `chroma run` on 127.0.0.1, reached through RAG_CHROMA_HOST/PORT,
directly or behind a proxy that asks for the credentials of RAG_CHROMA_AUTH; a server that is
down or refuses them is one Vietnamese line from every command and from the page's start, and
its credentials appear in no output."""

from __future__ import annotations

import base64
import http.client
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from embeddings import load_embedder
from rag.assistant import Assistant
from rag.config import Settings
from rag.retrieval import Retriever
from rag.store import Store
from tests.conftest import REPO, free_port

pytestmark = pytest.mark.slow

CHROMA = Path(sys.executable).parent / "chroma"


@pytest.fixture
def chroma_server(tmp_path):
    if not CHROMA.exists():
        pytest.skip(f"no chroma CLI beside {sys.executable}")
    port = free_port()
    log = open(tmp_path / "chroma.log", "wb")  # noqa: SIM115 - closed after the server stops
    server = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(tmp_path / "server"), "--port", str(port)]
        + ["--host", "127.0.0.1"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                url = f"http://127.0.0.1:{port}/api/v2/heartbeat"
                with urllib.request.urlopen(url, timeout=1) as reply:
                    if "nanosecond heartbeat" in json.loads(reply.read()):
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"chroma run did not start: {(tmp_path / 'chroma.log').read_text()}"
                )
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def test_ingest_and_answer_through_a_chroma_server(chroma_server, tmp_path, seed_corpus):
    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)
    settings = Settings.from_env(
        env={
            "RAG_CHROMA_HOST": "127.0.0.1",
            "RAG_CHROMA_PORT": str(chroma_server),
            "RAG_DATA_DIR": str(tmp_path / "data"),
            "RAG_EMBEDDING_MODEL": "hashing",
        },
        dotenv=None,
    )
    store = Store(settings, load_embedder("hashing"))

    report = store.sync(corpus)

    assert (report.added, report.errors) == (5, [])
    assert store.dense.client.get_settings().chroma_api_impl.endswith("FastAPI")  # the HTTP client
    assert not (tmp_path / "data" / "chroma").exists()
    assert store.collection.count() == report.chunks == len(store.snapshot.chunks)
    answer = Assistant(settings, Retriever(store, settings)).ask(
        "Kế hoạch số 51-KH/ĐUK được triển khai tới bao nhiêu chi bộ?"
    )
    assert "594" in answer.text
    assert answer.citations[0].doc_id == "000_cc43d066e58669a5.txt"
    # A second process sees the same server-side collection: nothing is embedded again.
    again = Store(settings, load_embedder("hashing")).sync(corpus)
    assert (again.unchanged, again.embedded) == (5, 0)


PASSWORD = "mat-khau-chroma-42"
TOKEN = "tok-chroma-9f8e7d6c5b4a"
UNREACHABLE = (
    "Lỗi: Không kết nối được máy chủ Chroma http://127.0.0.1:{port}: hãy kiểm tra máy chủ "
    "đang chạy và RAG_CHROMA_HOST, RAG_CHROMA_PORT."
)
REFUSED = (
    "Lỗi: Máy chủ Chroma http://127.0.0.1:{port} từ chối đăng nhập: kiểm tra RAG_CHROMA_AUTH "
    "(người-dùng:mật-khẩu, hoặc token)."
)
IN_HOST = (
    "RAG_CHROMA_HOST không được chứa tên người dùng, mật khẩu hay khóa: "
    "đặt chúng vào RAG_CHROMA_AUTH (người-dùng:mật-khẩu, hoặc một token)"
)


class AuthProxy:
    """A reverse proxy on 127.0.0.1 in front of the Chroma server that lets through only
    requests carrying `expected` as their Authorization header (401 otherwise), as a site
    puts basic or token authentication in front of `chroma run`."""

    def __init__(self, upstream: int, expected: str):
        self.seen: list[str | None] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self):
                auth = self.headers.get("Authorization")
                proxy.seen.append(auth)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if auth != expected:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="chroma"')
                    self.send_header("Content-Length", "12")
                    self.end_headers()
                    self.wfile.write(b"Unauthorized")
                    return
                upstream_conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                upstream_conn.request(self.command, self.path, body=body, headers=headers)
                reply = upstream_conn.getresponse()
                data = reply.read()
                self.send_response(reply.status)
                for key, value in reply.getheaders():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                upstream_conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _forward

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def cli_env(tmp_path, seed_corpus):
    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)
    return {
        **os.environ,
        "RAG_DATA_DIR": str(tmp_path / "data"),
        "RAG_CORPUS_DIR": str(corpus),
        "RAG_EMBEDDING_MODEL": "hashing",
        "RAG_READER": "off",
        "PYTHONPATH": str(REPO),
        "RAG_CHROMA_HOST": "127.0.0.1",
    }


def rag(env: dict, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag", *args],
        env={**env, **extra},
        capture_output=True,
        text=True,
        timeout=300,
    )


def leaks(result: subprocess.CompletedProcess) -> bool:
    secrets = (PASSWORD, TOKEN, basic("svc", PASSWORD).split()[1])
    return any(s in result.stdout + result.stderr for s in secrets)


@pytest.mark.parametrize("credentials", [f"svc:{PASSWORD}", TOKEN])
def test_credentials_in_rag_chroma_auth_pass_the_servers_login(chroma_server, cli_env, credentials):
    expected = basic("svc", PASSWORD) if ":" in credentials else f"Bearer {TOKEN}"
    with AuthProxy(chroma_server, expected) as proxy:
        env = {**cli_env, "RAG_CHROMA_PORT": str(proxy.port), "RAG_CHROMA_AUTH": credentials}
        ingest = rag(env, "ingest", "--json")
        info = rag(env, "info", "--json")
        wrong = rag(env, "info", RAG_CHROMA_AUTH="svc:sai-mat-khau")
    assert ingest.returncode == 0, ingest.stderr
    assert json.loads(ingest.stdout)["added"] == 5
    payload = json.loads(info.stdout)
    assert (payload["documents"], payload["vectors_pending"]) == (5, 0)
    assert set(proxy.seen) == {expected, basic("svc", "sai-mat-khau")}
    assert (wrong.returncode, wrong.stderr) == (1, REFUSED.format(port=proxy.port) + "\n")
    for result in (ingest, info, wrong):
        assert not leaks(result)
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("info",),
        ("info", "--json"),
        ("ingest",),
        ("search", "Lê Minh Đức"),
        ("ask", "Ai là Trưởng Ban chỉ đạo?"),
        ("remove", "000_cc43d066e58669a5.txt"),
    ],
)
def test_a_chroma_server_that_is_down_is_one_line_from_every_command(cli_env, args):
    port = free_port()  # nothing listens there
    result = rag(cli_env, *args, RAG_CHROMA_PORT=str(port), RAG_CHROMA_AUTH=f"svc:{PASSWORD}")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == UNREACHABLE.format(port=port) + "\n"
    assert "--rebuild" not in result.stderr and not leaks(result)


@pytest.mark.parametrize("args", [("info",), ("info", "--json"), ("ingest",)])
def test_a_password_in_the_chroma_host_is_refused_without_showing_it(cli_env, args):
    result = rag(cli_env, *args, RAG_CHROMA_HOST=f"http://svc:{PASSWORD}@127.0.0.1")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"Lỗi: {IN_HOST}\n"


def page(env: dict, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "app.py")],
        env={**env, "RAG_HOST": "127.0.0.1", "RAG_PORT": str(free_port()), **extra},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_page_does_not_start_against_a_chroma_server_that_is_down(cli_env):
    port = free_port()
    down = page(cli_env, RAG_CHROMA_PORT=str(port), RAG_CHROMA_AUTH=f"svc:{PASSWORD}")
    in_host = page(cli_env, RAG_CHROMA_HOST=f"http://svc:{PASSWORD}@127.0.0.1:{port}")
    assert (down.returncode, down.stdout, down.stderr) == (
        1,
        "",
        UNREACHABLE.format(port=port) + "\n",
    )
    assert (in_host.returncode, in_host.stdout, in_host.stderr) == (
        2,
        "",
        f"Lỗi cấu hình: {IN_HOST}\n",
    )
    assert not leaks(down) and not leaks(in_host)


def test_the_page_over_a_chroma_server_with_a_login_shows_no_credential(
    chroma_server, tmp_path, seed_corpus
):
    from app import create_app

    with AuthProxy(chroma_server, basic("svc", PASSWORD)) as proxy:
        settings = Settings.from_env(
            env={
                "RAG_CHROMA_HOST": "127.0.0.1",
                "RAG_CHROMA_PORT": str(proxy.port),
                "RAG_CHROMA_AUTH": f"svc:{PASSWORD}",
                "RAG_DATA_DIR": str(tmp_path / "data"),
                "RAG_EMBEDDING_MODEL": "hashing",
                "RAG_READER": "off",
            },
            dotenv=None,
        )
        store = Store(settings, load_embedder("hashing"))
        store.sync(seed_corpus)
        app = create_app(Assistant(settings, Retriever(store, settings)))
        port = free_port()
        app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
        try:
            pages = [
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30).read().decode()
                for path in ("/", "/config")
            ]
        finally:
            app.close()
    assert "5 tài liệu" in pages[1]  # the status line, read through the server
    for page_text in pages:
        assert PASSWORD not in page_text and basic("svc", PASSWORD).split()[1] not in page_text
