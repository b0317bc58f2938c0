"""The chat page in a real headless Chromium: `python app.py` on a free port against a copy of
the seed corpus (first start: the page opens while the corpus is ingested), a streamed answer
with a citation that opens its source, an upload that is indexed and cited, and escaping of
an article's `<script>` / `<img onerror>` as text. Saves docs/screenshot.png.

Needs Debian's chromium (CI installs it in .ci/run); skipped with a reason when it is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO, free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
QUESTION = "Ai là Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK?"
KINHTEDOTHI_TITLE = "Đảng uỷ Khối các cơ quan TP chủ động nâng cao chất lượng đảng viên"
UPLOAD_NAME = "hop_tac_xa_binh_minh.txt"
UPLOAD_TITLE = "Hợp tác xã Bình Minh khánh thành nhà máy chế biến cà phê"
UPLOAD_TEXT = f"""{UPLOAD_TITLE}

Sáng 12/3/2024, Hợp tác xã Bình Minh ở huyện Krông Pắc tổ chức lễ khánh thành nhà máy chế biến \
cà phê đầu tiên của hợp tác xã.

Nhà máy chế biến cà phê của Hợp tác xã Bình Minh có công suất 12.500 tấn mỗi năm và tạo việc \
làm cho 86 lao động địa phương.

Ghi chú của người soạn: <script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">
"""
UPLOAD_QUESTION = "Nhà máy của Hợp tác xã Bình Minh tạo việc làm cho bao nhiêu lao động?"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian chromium is not installed (apt-get install chromium; CI does it)",
    ),
]


@pytest.fixture
def server(tmp_path, seed_corpus, isolated_data_dir):
    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)
    port = free_port()
    env = {
        **os.environ,
        "RAG_CORPUS_DIR": str(corpus),
        "RAG_DATA_DIR": str(isolated_data_dir),
        "RAG_EMBEDDING_MODEL": "hashing",
        "RAG_HOST": "127.0.0.1",
        "RAG_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "PYTHONPATH": str(REPO),
    }
    log = open(tmp_path / "app.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "app.py")], cwd=tmp_path, env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"app.py exited: {(tmp_path / 'app.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("app.py did not start within 120 s")
            time.sleep(0.3)
        yield url, corpus, isolated_data_dir
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def page(tmp_path):
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1360, "height": 1000},
        )
        page = context.new_page()
        page.set_default_timeout(60_000)
        try:
            yield page
        finally:
            context.close()


def _ask(page, question: str, turn: int):
    page.fill("#question textarea", question)
    page.keyboard.press("Enter")
    # Only the finished answer has linked citations; while streaming it is plain text.
    bot = page.locator("#chat .message-content").nth(2 * turn - 1)
    bot.locator("a.cite").first.wait_for()
    return bot


def test_chat_page_answers_cites_uploads_in_chromium(server, page, tmp_path):
    url, corpus, data_dir = server
    started = time.monotonic()
    page.goto(url)
    page.wait_for_function(
        "(document.querySelector('#status')?.innerText || '').includes('5 tài liệu, 50 đoạn')"
    )
    assert "hashing (ngoại tuyến)" in page.inner_text("#status")

    bot = _ask(page, QUESTION, 1)
    answer = bot.inner_text()
    assert "Lê Minh Đức" in answer
    # The citation that follows the sentence naming him (the answer may cite more passages).
    href = bot.evaluate(
        """(message) => {
          const walker = document.createTreeWalker(message, NodeFilter.SHOW_ALL);
          let named = false;
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            if (node.nodeType === 3 && node.textContent.includes('Lê Minh Đức')) named = true;
            if (named && node.nodeType === 1 && node.matches('a.cite')) {
              return node.getAttribute('href');
            }
          }
          return null;
        }"""
    )
    assert href is not None and href.startswith("#src-1-")
    anchor = href[1:]
    link = bot.locator(f"a.cite[href='{href}']").first
    assert link.inner_text() == f"[{anchor.rsplit('-', 1)[1]}]"
    assert not page.evaluate(f"document.getElementById('{anchor}').open")
    link.click()
    card = page.locator(f"#{anchor}")
    page.wait_for_function(f"document.getElementById('{anchor}').open")
    assert card.locator(".title").inner_text() == KINHTEDOTHI_TITLE
    assert card.locator(".meta").inner_text() == "Kinhtedothi · 17/02/2023"
    assert "Lê Minh Đức" in card.locator("blockquote.passage").inner_text()
    assert card.locator("blockquote.passage mark").count() == 1
    card.locator("button.full-article").click()
    card.locator(".article-text").wait_for()
    assert card.locator(".article-text").inner_text().startswith(KINHTEDOTHI_TITLE)
    page.screenshot(path=str(REPO / "docs" / "screenshot.png"))

    # Thumbs up on the answer: one line in feedback.jsonl.
    page.locator("#chat button[aria-label='Like']").first.click()
    feedback = data_dir / "feedback.jsonl"
    deadline = time.monotonic() + 10
    while not feedback.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    record = json.loads(feedback.read_text("utf-8").splitlines()[0])
    assert (record["vote"], record["question"]) == ("up", QUESTION)
    assert record["citations"][0]["title"] == KINHTEDOTHI_TITLE

    # Upload a new article, then ask about it.
    upload = tmp_path / "uploads" / UPLOAD_NAME
    upload.parent.mkdir()
    upload.write_text(UPLOAD_TEXT, "utf-8")
    page.locator("#library").get_by_text("Tài liệu").first.click()
    page.locator("#upload input[type=file]").set_input_files(str(upload))
    page.locator("#upload-result li.ok").wait_for()
    assert page.inner_text("#upload-result") == (
        f"✓ {UPLOAD_NAME}: đã thêm thành {UPLOAD_NAME} (1 đoạn)"
    )
    assert (corpus / UPLOAD_NAME).read_text("utf-8") == UPLOAD_TEXT
    assert UPLOAD_TITLE in page.inner_text("#documents")

    bot = _ask(page, UPLOAD_QUESTION, 2)
    assert "86 lao động" in bot.inner_text()
    bot.locator("a.cite").first.click()
    card = page.locator("#src-2-1")
    page.wait_for_function("document.getElementById('src-2-1').open")
    assert card.locator(".title").inner_text() == UPLOAD_TITLE
    card.locator("button.full-article").click()
    card.locator(".article-text").wait_for()
    assert "<script>window.__xss = 1</script>" in card.locator(".article-text").inner_text()
    assert page.evaluate("window.__xss === undefined")
    assert page.locator("#sources img, #sources script").count() == 0
    print(f"browser test: {time.monotonic() - started:.1f} s after the page opened")
