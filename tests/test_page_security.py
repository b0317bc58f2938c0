"""The page against a visitor who does not play by the browser's rules (issue 20).

Files: every route that takes a file reads only what Gradio itself received into its upload
folder, whatever path a client names (served by uvicorn on 127.0.0.1, called over HTTP as a
client on another machine would: gradio_client would upload a local path itself).
Login (RAG_AUTH): throttling per client and per account with growing delays and a lockout, the
same-origin check on the form, idle and absolute session expiry with clean-up, and every route
behind the login; all with an injected clock, never a sleep.
The page's API: `/ask` with values of the wrong type gives one Vietnamese line.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from app import SESSION_COOKIE, ChatPage, create_server
from rag.assistant import Assistant
from rag.config import Settings
from rag.uploads import NOT_RECEIVED
from tests.conftest import SEED_CORPUS, free_port

SECRET = "Mật khẩu kho bạc của hợp tác xã là ngựa-vằn-42."
REFUSED = f"Tệp bị từ chối: {NOT_RECEIVED}."
SEED_FILES = sorted(p.name for p in SEED_CORPUS.iterdir())


@pytest.fixture
def assistant(tmp_path, seed_corpus, monkeypatch) -> Assistant:
    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)
    monkeypatch.setenv("RAG_CORPUS_DIR", str(corpus))
    assistant = Assistant.from_settings(Settings.from_env(dotenv=None))
    assistant.ingest(corpus)
    return assistant


@pytest.fixture
def secret(tmp_path) -> Path:
    """A Markdown file on the server, outside the upload folder, that no visitor may read."""
    path = tmp_path / "mat" / "bi_mat.md"
    path.parent.mkdir()
    path.write_text(f"Ghi chú nội bộ\n\n{SECRET}\n", "utf-8")
    return path


@pytest.fixture
def served(assistant, tmp_path, monkeypatch):
    """The page as `app.py` serves it (create_server, mounted on FastAPI) on 127.0.0.1, with
    Gradio's upload folder in the test's own folder: (base URL, upload folder)."""
    import uvicorn

    uploads = tmp_path / "gradio"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(uploads))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_server(assistant), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the page did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", uploads
    finally:
        server.should_exit = True
        thread.join(30)


def call(base: str, api: str, data: list) -> tuple[str, object]:
    """One call of the page's API over HTTP (POST /gradio_api/call/<api>, then its event
    stream): ('complete', outputs) or ('error', the message)."""
    with httpx.Client(base_url=f"{base}/gradio_api", timeout=60) as client:
        event_id = client.post(f"/call/{api}", json={"data": data}).json()["event_id"]
        stream = client.get(f"/call/{api}/{event_id}").text
    events = [
        line.removeprefix("event: ") for line in stream.splitlines() if line.startswith("event:")
    ]
    payloads = [
        line.removeprefix("data: ") for line in stream.splitlines() if line.startswith("data:")
    ]
    kind, payload = events[-1], json.loads(payloads[-1])
    return kind, payload["error"] if kind == "error" else payload


def file_data(path: str, name: str = "x.md") -> dict:
    return {"path": path, "orig_name": name, "meta": {"_type": "gradio.FileData"}}


def copies_of_secret(folder: Path) -> list[Path]:
    """Regular files under `folder` holding the secret (the links a test plants are not copies)."""
    found = []
    for path in folder.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        if SECRET in path.read_text("utf-8", "ignore"):
            found.append(path)
    return found


def assert_secret_nowhere(assistant: Assistant, uploads: Path) -> None:
    """Nothing copied into the corpus folder or Gradio's upload folder, nothing indexed."""
    corpus = Path(assistant.settings.corpus_dir)
    assert sorted(p.name for p in corpus.iterdir()) == SEED_FILES
    assert len(assistant.documents()) == 5
    hits = assistant.search("mật khẩu kho bạc ngựa vằn", k=5, mode="lexical")
    assert hits and all("ngựa-vằn-42" not in h.chunk.text for h in hits)
    assert copies_of_secret(uploads) == []


# ---------------------------------------------------------------------------------------------
# Files: only what Gradio received


@pytest.mark.slow
def test_upload_route_refuses_a_server_path_outside_the_upload_folder(served, assistant, secret):
    base, uploads = served
    kind, message = call(base, "upload", [[file_data(str(secret))]])
    assert (kind, message) == ("error", REFUSED)
    assert_secret_nowhere(assistant, uploads)
    # Nor is a URL fetched: Gradio would download a public one into its cache (this local one
    # it refuses, but with a bare error).
    kind, message = call(base, "upload", [[file_data(f"{base}/config", "cau_hinh.md")]])
    assert (kind, message) == ("error", REFUSED)
    assert not uploads.exists() or not any(p.name == "config" for p in uploads.rglob("*"))


@pytest.mark.slow
def test_upload_route_refuses_a_link_in_the_upload_folder_to_a_file_outside(
    served, assistant, secret
):
    base, uploads = served
    link = uploads / "0123abcd" / "bai.md"
    link.parent.mkdir(parents=True)
    link.symlink_to(secret)
    kind, message = call(base, "upload", [[file_data(str(link), "bai.md")]])
    assert (kind, message) == ("error", REFUSED)
    # Through a linked folder, too.
    (uploads / "thu_muc").symlink_to(secret.parent, target_is_directory=True)
    kind, message = call(base, "upload", [[file_data(str(uploads / "thu_muc" / "bi_mat.md"))]])
    assert (kind, message) == ("error", REFUSED)
    assert_secret_nowhere(assistant, uploads)


@pytest.mark.slow
def test_chat_route_refuses_a_server_file_named_in_the_history(served, assistant, secret):
    base, uploads = served
    history = [
        {"role": "user", "content": [{"file": file_data(str(secret)), "type": "file"}]},
        {"role": "assistant", "content": [{"text": "Vâng.", "type": "text"}]},
    ]
    question = "Ai là Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK?"
    kind, message = call(base, "ask", [question, history, "hybrid", 5, "", "", ""])
    assert (kind, message) == ("error", REFUSED)
    assert_secret_nowhere(assistant, uploads)


@pytest.mark.slow
def test_a_file_really_uploaded_through_the_page_is_indexed(served, assistant, tmp_path):
    from gradio_client import Client, handle_file

    base, uploads = served
    upload = tmp_path / "tin.txt"
    upload.write_text("Tin ngắn\n\nHợp tác xã Bình Minh có 86 lao động.\n", "utf-8")
    result = Client(f"{base}/", verbose=False).predict(
        [handle_file(str(upload))], api_name="/upload"
    )
    assert result[0] == (
        '<ul class="uploads"><li class="ok">✓ <code>tin.txt</code>: đã thêm thành tin.txt '
        "(1 đoạn)</li></ul>"
    )
    hits = assistant.search("Hợp tác xã Bình Minh có bao nhiêu lao động", k=1, mode="lexical")
    assert hits[0].chunk.doc_id == "tin.txt"


def test_the_upload_handler_reads_only_files_inside_its_upload_folder(assistant, secret, tmp_path):
    uploads = tmp_path / "gradio"
    inside = uploads / "ab12" / "tin.txt"
    inside.parent.mkdir(parents=True)
    inside.write_text("Tin ngắn\n\nHợp tác xã Bình Minh có 86 lao động.\n", "utf-8")
    (uploads / "ab12" / "lien_ket.md").symlink_to(secret)
    page = ChatPage(assistant, upload_dir=uploads)
    paths = [
        str(secret),
        str(uploads / "ab12" / "lien_ket.md"),
        str(inside),
        "http://127.0.0.1:1/x.md",
    ]
    result, *_ = page.upload(paths, lambda *a, **k: None)
    assert result == (
        f'<ul class="uploads"><li class="failed">✗ <code>bi_mat.md</code>: {NOT_RECEIVED}</li>'
        f'<li class="failed">✗ <code>lien_ket.md</code>: {NOT_RECEIVED}</li>'
        '<li class="ok">✓ <code>tin.txt</code>: đã thêm thành tin.txt (1 đoạn)</li>'
        f'<li class="failed">✗ <code>x.md</code>: {NOT_RECEIVED}</li></ul>'
    )
    assert sorted(p.name for p in Path(assistant.settings.corpus_dir).iterdir())[-1] == "tin.txt"
    assert "bi_mat.md" not in {d.doc_id for d in assistant.documents()}


# ---------------------------------------------------------------------------------------------
# Login (RAG_AUTH)

USER, PASSWORD = "an", "mật khẩu 06"
ORIGIN = {"Origin": "http://testserver"}


class Clock:
    """Time the sessions and the throttle read; a test moves it instead of sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def login_app(tmp_path, clock, monkeypatch):
    """The page behind RAG_AUTH (two accounts), 30 minutes idle and 2 hours at most, over an
    empty corpus folder (what is behind the login does not matter here)."""
    monkeypatch.setenv("RAG_CORPUS_DIR", str(tmp_path / "rong"))
    assistant = Assistant.from_settings(Settings.from_env(dotenv=None))
    settings = replace(
        assistant.settings,
        auth=f"{USER}:{PASSWORD},binh:mật khẩu khác",
        session_idle_minutes=30,
        session_max_hours=2,
    )
    monkeypatch.setattr(assistant, "settings", settings)
    return create_server(assistant, clock=clock)


def visitor(app, address: str = "203.0.113.7"):
    from fastapi.testclient import TestClient

    return TestClient(app, follow_redirects=False, client=(address, 50000))


def log_in(client, user: str = USER, password: str = PASSWORD, headers=ORIGIN):
    return client.post("/dang-nhap", data={"username": user, "password": password}, headers=headers)


def refusal(response) -> str:
    """The one line the login form shows."""
    import re

    return re.search(r'<p class="error" role="alert">([^<]*)</p>', response.text).group(1)


def test_wrong_passwords_meet_growing_delays_then_a_lockout(login_app, clock):
    client = visitor(login_app)
    waits = []
    for _ in range(10):
        response = log_in(client, password="sai")
        while response.status_code == 429:
            # Refused before the password is looked at: even the right one is refused now.
            assert log_in(client).status_code == 429
            wait = int(response.headers["retry-after"])
            waits.append(wait)
            clock.advance(wait)
            response = log_in(client, password="sai")
        assert response.status_code == 401
        assert refusal(response) == "Sai tên đăng nhập hoặc mật khẩu."
    assert waits == [1, 2, 4, 8, 16, 32, 60]
    locked = log_in(client)
    assert (locked.status_code, locked.headers["retry-after"]) == (429, "900")
    assert refusal(locked) == "Đăng nhập sai nhiều lần; hãy thử lại sau 15 phút."
    assert SESSION_COOKIE not in locked.cookies
    clock.advance(899)
    assert log_in(client).status_code == 429
    clock.advance(1)
    assert log_in(client).status_code == 303


def test_an_account_is_throttled_across_clients_and_a_client_across_accounts(login_app, clock):
    for n in range(3):
        assert log_in(visitor(login_app, f"198.51.100.{n}"), password="sai").status_code == 401
    # A fourth address guessing the same account waits; another account is not held up.
    response = log_in(visitor(login_app, "198.51.100.9"))
    assert (response.status_code, refusal(response)) == (
        429,
        "Đăng nhập sai nhiều lần; hãy thử lại sau 1 giây.",
    )
    assert log_in(visitor(login_app, "198.51.100.9"), "binh", "mật khẩu khác").status_code == 303
    # One address trying many accounts waits too.
    sprayer = visitor(login_app, "192.0.2.1")
    for name in ("chi", "dung", "em"):
        assert log_in(sprayer, name, "sai").status_code == 401
    assert log_in(sprayer, "binh", "mật khẩu khác").status_code == 429
    clock.advance(1)
    assert log_in(visitor(login_app, "198.51.100.9")).status_code == 303
    assert log_in(sprayer, "binh", "mật khẩu khác").status_code == 303


def test_a_login_posted_from_another_site_is_refused(login_app):
    client = visitor(login_app)
    for headers in (
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://testserver.evil.example"},
        {"Referer": "http://evil.example/form.html"},
        {},
    ):
        response = log_in(client, headers=headers)
        assert response.status_code == 403, headers
        assert refusal(response) == "Biểu mẫu đăng nhập phải được gửi từ chính trang này."
        assert SESSION_COOKIE not in response.cookies
    assert log_in(client, headers={"Referer": "http://testserver/dang-nhap"}).status_code == 303
    # Behind a reverse proxy the page's public name comes in X-Forwarded-Host.
    proxied = {"Origin": "https://hoidap.example", "X-Forwarded-Host": "hoidap.example"}
    assert log_in(client, headers=proxied).status_code == 303


def test_sessions_expire_when_idle_and_at_their_maximum_age(login_app, clock):
    client = visitor(login_app)
    assert log_in(client).status_code == 303
    for _ in range(3):
        clock.advance(29 * 60)  # used every 29 minutes: alive
        assert client.get("/config").status_code == 200
    clock.advance(30 * 60)  # 30 minutes without a request
    assert client.get("/config").status_code == 401
    assert client.get("/").headers["location"] == "/dang-nhap"
    assert len(login_app.state.sessions) == 0

    assert log_in(client).status_code == 303
    for _ in range(5):
        clock.advance(20 * 60)
        assert client.get("/config").status_code == 200
    clock.advance(20 * 60)  # 2 hours after the login, used all along
    assert client.get("/config").status_code == 401


def test_expired_sessions_are_cleaned_up_and_logins_do_not_pile_up(login_app, clock):
    sessions = login_app.state.sessions
    for _ in range(50):
        assert log_in(visitor(login_app)).status_code == 303
    # One user's oldest sessions give way beyond 20.
    assert len(sessions) == 20
    assert log_in(visitor(login_app), "binh", "mật khẩu khác").status_code == 303
    assert len(sessions) == 21
    clock.advance(31 * 60)
    # Nobody comes back: the next login sweeps all 21 away.
    assert log_in(visitor(login_app)).status_code == 303
    assert len(sessions) == 1


GRADIO_ROUTES = [
    ("POST", "/gradio_api/cancel"),
    ("POST", "/gradio_api/reset"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/gradio_api/openapi.json"),
    ("GET", "/gradio_api/info"),
    ("GET", "/config"),
    ("GET", "/gradio_api/file=/etc/hostname"),
    ("POST", "/gradio_api/upload"),
    ("POST", "/gradio_api/queue/join"),
    ("GET", "/gradio_api/queue/data?session_hash=abc"),
    ("POST", "/gradio_api/call/ask"),
    ("GET", "/gradio_api/heartbeat/abc"),
    ("GET", "/gradio_api/upload_progress?upload_id=abc"),
    ("GET", "/gradio_api/startup-events"),
    ("GET", "/theme.css"),
    ("GET", "/manifest.json"),
    ("GET", "/gradio_api/app_id"),
]


def test_every_gradio_route_needs_a_login(login_app):
    client = visitor(login_app)
    for method, path in GRADIO_ROUTES:
        response = client.request(method, path)
        assert response.status_code == 401, path
        assert response.json() == {"detail": "Cần đăng nhập (hoặc phiên đăng nhập đã hết hạn)."}


def test_a_logged_in_visitor_reaches_the_page_and_its_api(login_app):
    client = visitor(login_app)
    assert client.get("/").headers["location"] == "/dang-nhap"
    assert log_in(client).status_code == 303
    assert client.get("/").status_code == 200
    assert client.get("/config").status_code == 200
    assert client.get("/gradio_api/info").status_code == 200
    client.get("/dang-xuat")
    assert client.get("/config").status_code == 401


# ---------------------------------------------------------------------------------------------
# The page's API: values of the wrong kind

QUESTION = "Ai là Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK?"
BAD_ASK_VALUES = [
    # (question, mode, k, date_from, date_to, outlet) -> the notice
    (
        (QUESTION, "hybrid", "abc", "", "", ""),
        "Số đoạn văn dùng không hợp lệ: &#x27;abc&#x27; (cần số nguyên từ 1 đến 50).",
    ),
    (
        (QUESTION, "hybrid", 0, "", "", ""),
        "Số đoạn văn dùng không hợp lệ: 0 (cần số nguyên từ 1 đến 50).",
    ),
    (
        (QUESTION, "hybrid", 2.5, "", "", ""),
        "Số đoạn văn dùng không hợp lệ: 2.5 (cần số nguyên từ 1 đến 50).",
    ),
    ((QUESTION, "hybrid", 5, "", "", 7), "Nguồn không hợp lệ: 7"),
    ((QUESTION, "hybrid", 5, "", "", ["ĐBP"]), "Nguồn không hợp lệ: [&#x27;ĐBP&#x27;]"),
    ((QUESTION, "hybrid", 5, 20230217, "", ""), "Từ ngày không hợp lệ: 20230217"),
    (
        (QUESTION, "mọi thứ", 5, "", "", ""),
        "Chế độ truy hồi không hợp lệ: &#x27;mọi thứ&#x27; (chọn kết hợp từ khoá và ngữ "
        "nghĩa, theo ngữ nghĩa, theo từ khoá).",
    ),
    ((["Ai?"], "hybrid", 5, "", "", ""), "Câu hỏi phải là văn bản."),
]


@pytest.mark.parametrize(("values", "notice"), BAD_ASK_VALUES)
def test_ask_with_a_value_of_the_wrong_kind_is_one_vietnamese_line(assistant, values, notice):
    question, mode, k, date_from, date_to, outlet = values
    page = ChatPage(assistant)
    updates = list(page.respond(question, [], [], mode, k, date_from, date_to, outlet))
    [(chat, turns, _, shown, _)] = updates
    assert (chat, turns, shown) == ([], [], f'<span class="error">{notice}</span>')


@pytest.mark.slow
def test_ask_over_http_with_values_of_the_wrong_kind_gets_one_vietnamese_line(served):
    base, _ = served
    # What a component refuses before the handler runs (Gradio's English otherwise, or a bare
    # error): one line naming the field.
    for k, mode, message in (
        ("abc", "hybrid", "Số đoạn văn dùng không hợp lệ: 'abc'."),
        (0, "hybrid", "Số đoạn văn dùng không hợp lệ: 0."),
        (5, "mọi thứ", "Chế độ truy hồi không hợp lệ: 'mọi thứ'."),
    ):
        kind, error = call(base, "ask", [QUESTION, [], mode, k, "", "", ""])
        assert (kind, error) == ("error", message)
    # What the handler refuses: the notice line under the chat, the chat untouched.
    kind, outputs = call(base, "ask", [QUESTION, [], "hybrid", 5, "", "", {"a": 1}])
    chat, _turns, _sources, notice, _question = outputs
    assert (kind, chat) == ("complete", [])
    assert notice == '<span class="error">Nguồn không hợp lệ: {&#x27;a&#x27;: 1}</span>'
