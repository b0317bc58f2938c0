"""The chat page in a real headless Chromium: `python app.py` on a free port behind a login,
against a copy of the seed corpus (first start: the page opens while the corpus is ingested).
An English-language browser meets only Vietnamese (login form, upload box, settings, a refused
file, an upload under way); an answer with a citation that opens its source and the cleaned
article; one vote per answer, confirmed; three example questions from the collection that ask
at once, their answer's bold shown as bold (no literal markdown); "Bỏ bộ lọc" asks again; an
upload that is indexed and cited, the status line following its vectors to the end; an
article's `<script>` / `<img onerror>` shown as text; on a 390x844 phone the status is one line
and the sources sit right under the answer.

Screenshots (1280x900 and 390x844) go to a temporary folder, or to $RAG_SCREENSHOT_DIR when set
(`make screenshot` sets docs/). Needs Debian's chromium (CI installs it in .ci/run); skipped
with a reason when it is missing.
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
USER, PASSWORD = "an", "mật khẩu 06"
# Gradio's English strings for the login page, the upload box, its toasts and progress line,
# and the retrieval modes' former names.
ENGLISH = (
    "Login",
    "username",
    "password",
    "Incorrect",
    "Drop File",
    "Click to Upload",
    "- or -",
    "Uploading",
    "Invalid file",
    "exceed",
    "processing",
    "Error",
    "hybrid",
    "dense",
    "lexical",
)
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
        "RAG_AUTH": f"{USER}:{PASSWORD}",
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
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def screenshots(tmp_path) -> Path:
    folder = Path(os.environ.get("RAG_SCREENSHOT_DIR") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _open(browser, width: int, height: int):
    """A fresh browser tab of that size whose language is English, as a visitor's may be."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(60_000)
    return page


def _login(page, url: str, documents: int) -> None:
    page.goto(url)
    page.fill("#username", USER)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_function(
        f"(document.querySelector('#status')?.innerText || '').includes('{documents} tài liệu')"
    )


def _no_english(text: str) -> list[str]:
    return [word for word in ENGLISH if word.lower() in text.lower()]


def _ask_plain(page, question: str, turn: int):
    """Ask, and wait for the answer, which may have no citation."""
    page.fill("#question textarea", question)
    page.keyboard.press("Enter")
    page.locator("#chat .message-content").nth(2 * turn - 1).wait_for()


def _ask(page, question: str, turn: int):
    page.fill("#question textarea", question)
    page.keyboard.press("Enter")
    # Only the finished answer has linked citations; while streaming it is plain text.
    bot = page.locator("#chat .message-content").nth(2 * turn - 1)
    bot.locator("a.cite").first.wait_for()
    return bot


def test_chat_page_answers_cites_uploads_in_chromium(server, browser, screenshots, tmp_path):
    url, corpus, data_dir = server
    started = time.monotonic()
    page = _open(browser, 1280, 900)

    # The login form, first with a wrong password.
    page.goto(url)
    login = page.inner_text("body")
    assert "Đăng nhập để dùng trợ lý hỏi đáp tài liệu." in login
    assert (page.inner_text("label[for=username]"), page.inner_text("label[for=password]")) == (
        "Tên đăng nhập",
        "Mật khẩu",
    )
    page.fill("#username", USER)
    page.fill("#password", "sai")
    page.click("button[type=submit]")
    assert page.inner_text("[role=alert]") == "Sai tên đăng nhập hoặc mật khẩu."
    assert _no_english(page.inner_text("body")) == []
    _login(page, url, 5)
    status = page.inner_text("#status")
    assert status == "Trả lời bằng trích dẫn từ tài liệu · 5 tài liệu"
    page.click("#status summary")
    assert "Mô hình nhúng: hashing" in page.inner_text("#status")
    page.click("#status summary")

    # The upload box speaks Vietnamese too.
    page.locator("#library").get_by_text("Tài liệu").first.click()
    upload_box = page.inner_text("#upload")
    assert "Thả tệp vào đây" in upload_box and _no_english(upload_box) == []

    # Three example questions drawn from the collection; a click asks at once, and the
    # answer's bold count shows in bold, not as literal asterisks.
    examples = page.locator("#examples button")
    assert examples.count() == 3
    assert examples.nth(2).inner_text() == "Có bao nhiêu bài viết trong bộ tài liệu?"
    examples.nth(2).click()
    bot = page.locator("#chat .message-content").nth(1)
    bot.locator("a.cite").first.wait_for()
    assert bot.inner_text().startswith("Có 5 bài viết trong bộ tài liệu:")
    assert bot.locator("strong").first.inner_text() == "5"
    assert "**" not in bot.inner_text() and bot.locator("li").count() == 5
    page.click("#clear")
    page.locator("#chat .message-content").first.wait_for(state="detached")

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
    # Sources beside the answer on a laptop.
    answer_box, sources_box = bot.bounding_box(), page.locator("#sources").bounding_box()
    assert sources_box["x"] > answer_box["x"] + answer_box["width"]

    # The cleaned article: no share button or byline; it folds away again.
    button = card.locator("button.full-article")
    button.click()
    article = card.locator(".article-text")
    article.wait_for()
    assert article.inner_text().startswith(KINHTEDOTHI_TITLE + "\n\nKinhtedothi-Sáng 17/2")
    assert "Chia sẻ Zalo" not in article.inner_text()
    assert button.inner_text() == "Thu gọn bài"
    button.click()
    article.wait_for(state="hidden")
    assert button.inner_text() == "Xem toàn bài"
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshots / "screenshot.png"))

    # Thumbs up, then down on the same answer: one record, the later vote.
    feedback = data_dir / "feedback.jsonl"
    page.locator("#chat button[aria-label='Hữu ích']").first.click()
    _wait_for(lambda: feedback.exists())
    page.wait_for_function(
        "document.querySelector('#notice').innerText.includes('Đã ghi nhận: câu trả lời hữu ích')"
    )
    page.locator("#chat button[aria-label='Không hữu ích']").first.click()
    _wait_for(lambda: json.loads(feedback.read_text("utf-8"))["vote"] == "down")
    [record] = [json.loads(line) for line in feedback.read_text("utf-8").splitlines()]
    assert (record["vote"], record["question"]) == ("down", QUESTION)
    assert record["citations"][0]["title"] == KINHTEDOTHI_TITLE

    # Nothing found under a date filter: the page says so and offers to clear it.
    page.locator("#settings").get_by_text("Cài đặt và bộ lọc").first.click()
    date_from = page.locator("#date-from").locator("textarea, input").first
    date_from.fill("01/01/2030")
    _ask_plain(page, QUESTION, 2)
    page.locator("#clear-filters").wait_for()
    assert page.inner_text("#notice") == (
        "Không tìm thấy câu trả lời khi đang lọc (từ 01/01/2030). "
        "Bỏ bộ lọc để tìm trong cả kho tài liệu."
    )
    page.click("#clear-filters")
    page.locator("#clear-filters").wait_for(state="hidden")
    assert date_from.input_value() == ""
    # ... and asks the question again over the whole collection.
    again = page.locator("#chat .message-content").nth(5)
    again.locator("a.cite").first.wait_for()
    assert "Lê Minh Đức" in again.inner_text()
    assert page.inner_text("#notice") == ""
    assert page.locator("#chat .message-content").nth(4).inner_text() == QUESTION
    page.click("#clear")

    # A file of another type: refused by the server in one Vietnamese line, no English toast.
    tool = tmp_path / "uploads" / "tool.exe"
    tool.parent.mkdir()
    tool.write_bytes(b"MZ")
    page.locator("#upload input[type=file]").set_input_files(str(tool))
    page.locator("#upload-result li.failed").wait_for()
    assert page.inner_text("#upload-result") == (
        "✗ tool.exe: loại tệp không được hỗ trợ (.exe; nhận .txt, .md, .html, .htm, .pdf, .docx)"
    )
    assert _no_english(page.inner_text("body")) == []
    page.locator("#upload button[aria-label='Xoá']").first.click()
    # A file over the size limit: Gradio's browser code refuses it before sending, in a toast
    # that now speaks Vietnamese.
    big = tmp_path / "uploads" / "lon.txt"
    with open(big, "wb") as f:
        f.truncate(21 * 2**20)
    page.locator("#upload input[type=file]").set_input_files(str(big))
    page.wait_for_function(
        "[...document.querySelectorAll('[data-testid=toast-body]')]"
        ".some((t) => t.innerText.includes('Tệp quá lớn'))"
    )
    toast = page.locator("[data-testid=toast-body]").first.inner_text()
    assert toast.startswith("Lỗi") and 'Tệp quá lớn (tối đa 20.0 MB): "lon.txt"' in toast
    assert _no_english(page.inner_text("body")) == []
    page.locator("[data-testid=toast-close]").first.click()

    # Upload a new article, then ask about it.
    upload = tmp_path / "uploads" / UPLOAD_NAME
    upload.write_text(UPLOAD_TEXT, "utf-8")
    page.locator("#upload input[type=file]").set_input_files(str(upload))
    page.locator("#upload-result li.ok").wait_for()
    assert page.inner_text("#upload-result") == (
        f"✓ {UPLOAD_NAME}: đã thêm thành {UPLOAD_NAME} (1 đoạn)"
    )
    assert (corpus / UPLOAD_NAME).read_text("utf-8") == UPLOAD_TEXT
    assert UPLOAD_TITLE in page.inner_text("#documents")
    # The status line follows the upload's vectors to their end in this tab.
    page.wait_for_function(
        "document.querySelector('#status summary').innerText"
        " === 'Trả lời bằng trích dẫn từ tài liệu · 6 tài liệu'"
    )

    bot = _ask(page, UPLOAD_QUESTION, 1)
    assert "86 lao động" in bot.inner_text()
    bot.locator("a.cite").first.click()
    card = page.locator("#src-1-1")
    page.wait_for_function("document.getElementById('src-1-1').open")
    assert card.locator(".title").inner_text() == UPLOAD_TITLE
    assert card.locator(".meta").inner_text() == "không rõ nguồn · 12/03/2024"
    card.locator("button.full-article").click()
    card.locator(".article-text").wait_for()
    assert "<script>window.__xss = 1</script>" in card.locator(".article-text").inner_text()
    assert page.evaluate("window.__xss === undefined")
    assert page.locator("#sources img, #sources script").count() == 0

    # A phone: the status takes one line and the sources come right under the answer.
    phone = _open(browser, 390, 844)
    _login(phone, url, 6)
    summary = phone.locator("#status summary")
    line_height = summary.evaluate("(el) => parseFloat(getComputedStyle(el).lineHeight)")
    assert summary.bounding_box()["height"] < 1.5 * line_height
    assert summary.evaluate("(el) => el.scrollWidth <= el.clientWidth"), summary.evaluate(
        "(el) => [el.scrollWidth, el.clientWidth, getComputedStyle(el).fontSize]"
    )
    bot = _ask(phone, QUESTION, 1)
    answer_box = bot.bounding_box()
    sources_top = phone.locator("#sources-column").bounding_box()["y"]
    gap = sources_top - (answer_box["y"] + answer_box["height"])
    assert 0 <= gap < 200, gap
    bot.locator("a.cite").first.click()
    phone.wait_for_function("document.getElementById('src-1-1').open")
    phone.screenshot(path=str(screenshots / "screenshot-phone.png"))
    print(f"browser test: {time.monotonic() - started:.1f} s after the page opened")


def _wait_for(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (OSError, ValueError):
            pass  # the file is being replaced or not written yet
        time.sleep(0.2)
    pytest.fail("timed out")
