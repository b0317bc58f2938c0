"""The chat page without a browser: the formatting functions of rag/ui.py on the seeds' own text
(exact HTML), and the page's handlers (`app.ChatPage`) and API over a real index of the seed
corpus built with the offline embedder."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import gradio as gr
import pytest

from app import ChatPage, create_app, launch_options
from rag import ui
from rag.answer import Answer, Citation
from rag.chain import Assistant
from rag.config import Settings
from rag.store import Filters
from tests.conftest import free_port

QUESTION = "Ai là Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK?"
TITLE = "Đảng uỷ Khối các cơ quan TP chủ động nâng cao chất lượng đảng viên"
QUOTE = (
    "Bí thư Đảng uỷ Khối các cơ quan TP Hà Nội Lê Minh Đức, Trưởng Ban chỉ đạo Chương trình "
    "số 06-Ctr/ĐUK phát biểu tại Hội nghị."
)
LEAD = "Kinhtedothi-Sáng 17/2, Ban Chỉ đạo Chương trình số 06-Ctr/ĐUK (khoá XIII).\n\n"
PASSAGE_START = 91
QUOTE_START = PASSAGE_START + len(LEAD)
XSS = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def citation(**changes) -> Citation:
    fields = dict(
        n=1,
        doc_id="000_cc43d066e58669a5.txt",
        title=TITLE,
        outlet="Kinhtedothi",
        date="2023-02-17",
        passage=LEAD + QUOTE,
        passage_start=PASSAGE_START,
        passage_end=PASSAGE_START + len(LEAD + QUOTE),
        quote=QUOTE,
        start=QUOTE_START,
        end=QUOTE_START + len(QUOTE),
        supported=True,
        chunk_id="c1",
        span=(QUOTE_START + 42, QUOTE_START + 53),  # "Lê Minh Đức"
    )
    fields.update(changes)
    return Citation(**fields)


def answer(text: str = QUOTE + " [1]", citations=None, **changes) -> Answer:
    return Answer(
        text=text,
        citations=(citation(),) if citations is None else citations,
        abstained=False,
        mode="extractive",
        question=QUESTION,
        span="Lê Minh Đức",
        **changes,
    )


# ---------------------------------------------------------------------------------------------
# Chat messages


def test_answer_markdown_links_citation_and_bolds_span():
    assert ui.answer_markdown(answer(), 2) == (
        "Bí thư Đảng uỷ Khối các cơ quan TP Hà Nội <strong>Lê Minh Đức</strong>, Trưởng Ban chỉ "
        "đạo Chương trình số 06-Ctr/ĐUK phát biểu tại Hội nghị. "
        f'<a class="cite" href="#src-2-1" title="{TITLE}">&#91;1&#93;</a>'
    )


def test_answer_markdown_leaves_unknown_markers_as_text_and_adds_notice():
    result = answer(
        "Qua 2 năm thực hiện Chương trình số 06-CTr/ĐUK [1] [7]",
        notice="Không kết nối được mô hình ngôn ngữ; đây là câu trả lời trích xuất.",
    )
    assert ui.answer_markdown(result, 1) == (
        "Qua 2 năm thực hiện Chương trình số 06-CTr/ĐUK "
        f'<a class="cite" href="#src-1-1" title="{TITLE}">&#91;1&#93;</a> &#91;7&#93;'
        "<br><em>Không kết nối được mô hình ngôn ngữ; đây là câu trả lời trích xuất.</em>"
    )


def test_answer_markdown_escapes_tags_in_text_and_title():
    result = answer(f"Ông Lê Minh Đức {XSS} [1]", citations=(citation(title=f'Tin "nóng" {XSS}'),))
    assert ui.answer_markdown(result, 1) == (
        "Ông <strong>Lê Minh Đức</strong> &#60;script&#62;alert(1)&#60;/script&#62;"
        '&#60;img src=x onerror="alert(2)"&#62; <a class="cite" href="#src-1-1" '
        'title="Tin &quot;nóng&quot; &lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x '
        'onerror=&quot;alert(2)&quot;&gt;">&#91;1&#93;</a>'
    )


def test_md_escape_keeps_markdown_from_making_lists_links_or_math():
    text = "1. Xem [bài](javascript:alert(1)) tại https://kinhtedothi.vn, *đậm* $$x$$\n- mục"
    assert ui.md_escape(text) == (
        "&#49;. Xem &#91;bài&#93;(javascript:alert(1)) tại https&#58;//kinhtedothi.vn, "
        "&#42;đậm&#42; &#36;&#36;x&#36;&#36;\n&#45; mục"
    )


def test_question_markdown_escapes_user_text():
    assert ui.question_markdown("<b>Ai</b> là _Trưởng ban_?") == (
        "&#60;b&#62;Ai&#60;/b&#62; là &#95;Trưởng ban&#95;?"
    )


# ---------------------------------------------------------------------------------------------
# Sources panel


def test_citation_html_highlights_sentence_and_bolds_span():
    assert ui.citation_html(citation(), 1) == (
        '<details class="source" id="src-1-1"><summary><span class="n">[1]</span> '
        f'<span class="title">{TITLE}</span> <span class="meta">Kinhtedothi · 17/02/2023</span>'
        '</summary><blockquote class="passage">Kinhtedothi-Sáng 17/2, Ban Chỉ đạo Chương trình '
        "số 06-Ctr/ĐUK (khoá XIII).\n\n<mark>Bí thư Đảng uỷ Khối các cơ quan TP Hà Nội "
        "<strong>Lê Minh Đức</strong>, Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK phát biểu "
        "tại Hội nghị.</mark></blockquote>"
        '<button class="full-article" data-doc="000_cc43d066e58669a5.txt" '
        'data-marks="167,291,209,220">Xem toàn bài</button><div class="article"></div></details>'
    )


def test_citation_html_escapes_title_passage_and_file_name_and_flags_weak_support():
    passage = f"Phùng Khải Lợi {XSS} phát biểu."
    html = ui.citation_html(
        citation(
            title=f"<script>alert('t')</script>{TITLE}",
            doc_id='"><img src=x onerror=alert(3)>.txt',
            outlet="<b>ĐBP</b>",
            date=None,
            passage=passage,
            passage_start=0,
            passage_end=len(passage),
            start=0,
            end=len(passage),
            span=None,
            supported=False,
        ),
        3,
    )
    assert html == (
        '<details class="source" id="src-3-1"><summary><span class="n">[1]</span> '
        f'<span class="title">&lt;script&gt;alert(&#x27;t&#x27;)&lt;/script&gt;{TITLE}</span> '
        '<span class="meta">&lt;b&gt;ĐBP&lt;/b&gt;</span></summary><blockquote class="passage">'
        "<mark>Phùng Khải Lợi &lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x "
        "onerror=&quot;alert(2)&quot;&gt; phát biểu.</mark></blockquote>"
        '<p class="weak">Câu trích dẫn không khớp chặt với nhận định; hãy kiểm tra lại.</p>'
        '<button class="full-article" data-doc="&quot;&gt;&lt;img src=x onerror=alert(3)&gt;.txt" '
        'data-marks="0,81">Xem toàn bài</button><div class="article"></div></details>'
    )


def test_sources_html_shows_newest_answer_open_and_older_folded():
    turns = [ui.Turn("Câu một?", answer()), ui.Turn("<i>Câu hai</i>?", answer(citations=()))]
    assert ui.sources_html(turns) == (
        '<details class="turn" id="turn-2" open><summary>Câu hỏi 2: &lt;i&gt;Câu hai&lt;/i&gt;?'
        '</summary><p class="muted">Câu trả lời này không có nguồn trích dẫn.</p></details>'
        '<details class="turn" id="turn-1"><summary>Câu hỏi 1: Câu một?</summary>'
        f"{ui.citation_html(citation(), 1)}</details>"
    )
    assert ui.sources_html([]) == ui.NO_SOURCES


def test_article_html_highlights_cited_sentence_in_full_text():
    text = f"{TITLE}\n\n{XSS}\nLê Minh Đức phát biểu."
    start = text.index("Lê")
    marks = ui.parse_marks(f"{start},{len(text)},{start},{start + 11}")
    assert ui.article_html(text, marks) == (
        f'<div class="article-text">{TITLE}\n\n&lt;script&gt;alert(1)&lt;/script&gt;'
        "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;\n"
        "<mark><strong>Lê Minh Đức</strong> phát biểu.</mark></div>"
    )
    assert ui.parse_marks("1,2,x") == []
    assert ui.parse_marks("") == []


# ---------------------------------------------------------------------------------------------
# Status line


def test_status_says_plainly_that_the_offline_fallback_runs():
    status = {
        "documents": 5,
        "chunks": 50,
        "embedding_model": "hashing",
        "embedding_fallback": True,
        "llm": None,
        "retrieval_mode": "hybrid",
        "data_dir": "data",
    }
    assert ui.status_html(status, requested_model="intfloat/multilingual-e5-base") == (
        "Mô hình nhúng: hashing (ngoại tuyến — không tải được intfloat/multilingual-e5-base) · "
        "Trả lời: trích xuất (không dùng mô hình ngôn ngữ) · Truy hồi: kết hợp (hybrid) · "
        "5 tài liệu, 50 đoạn"
    )


def test_status_names_llm_endpoint_and_ingest_progress():
    status = {
        "documents": 0,
        "chunks": 0,
        "embedding_model": "intfloat/multilingual-e5-base",
        "embedding_fallback": False,
        "llm": "qwen2.5-7b-instruct",
        "retrieval_mode": "lexical",
        "data_dir": "data",
    }
    assert ui.status_html(
        status,
        requested_model="intfloat/multilingual-e5-base",
        llm_url="http://127.0.0.1:8000/v1",
        indexing=("embed", 256, 1000),
    ) == (
        "Mô hình nhúng: intfloat/multilingual-e5-base · Trả lời: mô hình ngôn ngữ "
        "qwen2.5-7b-instruct tại http://127.0.0.1:8000/v1 · Truy hồi: từ khoá (lexical) · "
        '0 tài liệu, 0 đoạn · <span class="busy">Đang nạp kho tài liệu: Tạo vector 256/1000'
        "</span>"
    )
    assert ui.progress_fraction("embed", 500, 1000) == pytest.approx(0.3)


# ---------------------------------------------------------------------------------------------
# Uploads, documents, settings, feedback


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("/abs/x.txt", "x.txt"),
        ("C:\\Users\\an\\bai viet.docx", "bai viet.docx"),
        ("bài\x00 viết\x1b[31m\n.txt", "bài viết_31m.txt"),
        ("Đảng uỷ <b>06<b>?.md", "Đảng uỷ _b_06_b__.md"),
        ("..", ""),
        (".hidden.txt", "hidden.txt"),
    ],
)
def test_safe_filename(name, safe):
    assert ui.safe_filename(name) == safe


@pytest.mark.parametrize(
    ("name", "size", "reason"),
    [
        (
            "../../etc/passwd",
            10,
            "loại tệp không được hỗ trợ (không có đuôi; nhận .txt, .md, .html, .htm, .pdf, .docx)",
        ),
        (
            "bai.exe",
            10,
            "loại tệp không được hỗ trợ (.exe; nhận .txt, .md, .html, .htm, .pdf, .docx)",
        ),
        ("bai.pdf", 21 * 2**20, "tệp quá lớn (21.0 MB; tối đa 20 MB)"),
        ("bai.txt", 0, "tệp rỗng"),
        ("/", 10, "tên tệp không hợp lệ"),
    ],
)
def test_check_upload_refuses(name, size, reason):
    with pytest.raises(ui.UploadError) as error:
        ui.check_upload(name, size)
    assert str(error.value) == reason


def test_check_upload_accepts_supported_file_under_the_limit():
    assert ui.check_upload("/tmp/x/../Bài viết.DOCX", 1000) == "Bài viết.DOCX"


def test_upload_results_and_document_list_escape_names():
    results = [
        ui.UploadResult("<img src=x onerror=alert(1)>.txt", False, "tệp rỗng"),
        ui.UploadResult("bai.txt", True, "đã thêm thành bai.txt (1 đoạn)"),
    ]
    assert ui.upload_results_html(results) == (
        '<ul class="uploads"><li class="failed">✗ <code>&lt;img src=x onerror=alert(1)&gt;.txt'
        '</code>: tệp rỗng</li><li class="ok">✓ <code>bai.txt</code>: đã thêm thành bai.txt '
        "(1 đoạn)</li></ul>"
    )
    documents = [
        {"doc_id": "<x>.txt", "title": XSS, "outlet": None, "date": "2022-03-07", "chunks": 9}
    ]
    assert ui.documents_html(documents) == (
        '<table class="documents"><thead><tr><th>Tiêu đề</th><th>Nguồn</th><th>Ngày</th>'
        "<th>Đoạn</th><th>Tệp</th></tr></thead><tbody><tr><td>&lt;script&gt;alert(1)"
        "&lt;/script&gt;&lt;img src=x onerror=&quot;alert(2)&quot;&gt;</td><td></td>"
        "<td>07/03/2022</td><td>9</td><td><code>&lt;x&gt;.txt</code></td></tr></tbody></table>"
    )


def test_parse_filters():
    assert ui.parse_filters("", " ", "") is None
    assert ui.parse_filters("17/02/2023", "2023-12-31", "Kinhtedothi") == Filters(
        outlet="Kinhtedothi", date_from="2023-02-17", date_to="2023-12-31"
    )
    with pytest.raises(ui.FilterError, match="Từ ngày không hợp lệ: '31/02/2023'"):
        ui.parse_filters("31/02/2023", "", "")
    with pytest.raises(ui.FilterError, match="Khoảng ngày ngược: từ 01/01/2024 đến 31/12/2023"):
        ui.parse_filters("2024-01-01", "2023-12-31", None)


def test_parse_auth():
    assert ui.parse_auth("an:mật:khẩu, binh:123") == [("an", "mật:khẩu"), ("binh", "123")]
    assert ui.parse_auth(None) == []
    with pytest.raises(ValueError, match="RAG_AUTH"):
        ui.parse_auth("an")


def test_feedback_line_is_one_json_object():
    record = ui.feedback_record(
        False, ui.Turn(QUESTION, answer()), datetime(2024, 3, 12, 8, 30, tzinfo=UTC)
    )
    line = ui.feedback_line(record)
    assert line.endswith("\n") and line.count("\n") == 1
    assert json.loads(line) == {
        "time": "2024-03-12T08:30:00+00:00",
        "vote": "down",
        "question": QUESTION,
        "answer": QUOTE + " [1]",
        "citations": [citation().to_json()],
    }


# ---------------------------------------------------------------------------------------------
# The page's handlers over a real index


@pytest.fixture
def page(tmp_path, seed_corpus, monkeypatch):
    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)
    monkeypatch.setenv("RAG_EMBEDDING_MODEL", "hashing")
    monkeypatch.setenv("RAG_CORPUS_DIR", str(corpus))
    assistant = Assistant.from_settings(Settings.from_env(dotenv=None))
    assistant.store.sync(corpus)
    return ChatPage(assistant, max_upload_bytes=4096)


def ask(page: ChatPage, question: str, chat=None, turns=None, date_from=""):
    return list(page.respond(question, chat, turns, "hybrid", 5, date_from, "", ""))


class FakeProgress:
    def __init__(self):
        self.calls = []

    def __call__(self, fraction, desc=None):
        self.calls.append((round(fraction, 3), desc))


def test_respond_streams_plain_text_then_links_citations_and_fills_sources(page):
    updates = ask(page, QUESTION)
    assert len(updates) > 3
    chat, turns, sources, notice, question = updates[1]
    assert chat[0] == {"role": "user", "content": QUESTION}
    assert chat[1]["role"] == "assistant" and "<a" not in chat[1]["content"]
    assert isinstance(sources, type(gr.skip())) and question == ""
    chat, turns, sources, notice, question = updates[-1]
    final = turns[0].answer
    assert "Lê Minh Đức" in final.text
    assert chat[1]["content"] == ui.answer_markdown(final, 1)
    assert '<a class="cite" href="#src-1-1"' in chat[1]["content"]
    assert sources == ui.sources_html(turns)
    assert f'<span class="title">{TITLE}</span>' in sources
    assert notice == ""


def test_follow_up_uses_the_conversation(page):
    *_, (chat, turns, *_) = ask(page, QUESTION)
    *_, (chat, turns, *_) = ask(page, "Ông ấy phát biểu ở đâu?", chat, turns)
    assert len(chat) == 4 and len(turns) == 2
    assert turns[1].question == "Ông ấy phát biểu ở đâu?"
    assert turns[1].answer.standalone_question != turns[1].question
    assert page.clear() == ([], [], ui.NO_SOURCES, "")


def test_bad_question_or_filter_is_one_line_and_leaves_the_chat(page):
    (chat, turns, _, notice, question), *rest = ask(page, "   ")
    assert (chat, turns, rest) == ([], [], [])
    assert notice == '<span class="error">Câu hỏi trống: hãy nhập một câu hỏi.</span>'
    (chat, turns, _, notice, _), *rest = ask(page, QUESTION, date_from="hôm qua")
    assert notice == (
        '<span class="error">Từ ngày không hợp lệ: &#x27;hôm qua&#x27; '
        "(dạng 2023-02-17 hoặc 17/02/2023)</span>"
    )


def test_upload_indexes_good_files_and_reports_each_one(page, tmp_path, monkeypatch):
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    good = incoming / "Bài <mới>.txt"
    good.write_text(
        "Hợp tác xã Bình Minh khánh thành nhà máy\n\nNhà máy chế biến cà phê của Hợp tác xã "
        "Bình Minh có công suất 12.500 tấn mỗi năm và tạo việc làm cho 86 lao động.\n",
        "utf-8",
    )
    (incoming / "virus.exe").write_bytes(b"MZ")
    (incoming / "rong.txt").write_bytes(b"")
    (incoming / "anh.txt").write_bytes(bytes(range(256)) * 4)
    (incoming / "lon.md").write_text("x" * 5000, "utf-8")
    progress = FakeProgress()
    files = [str(p) for p in sorted(incoming.iterdir())]
    result, status, documents, removal, outlets = page.upload(files, progress)
    corpus = Path(page.settings.corpus_dir)
    assert result == ui.upload_results_html(
        [
            ui.UploadResult("Bài <mới>.txt", True, "đã thêm thành Bài _mới_.txt (1 đoạn)"),
            ui.UploadResult("anh.txt", False, "không phải tệp văn bản"),
            ui.UploadResult("lon.md", False, "tệp quá lớn (4.9 KB; tối đa 4 KB)"),
            ui.UploadResult("rong.txt", False, "tệp rỗng"),
            ui.UploadResult(
                "virus.exe",
                False,
                "loại tệp không được hỗ trợ (.exe; nhận .txt, .md, .html, .htm, .pdf, .docx)",
            ),
        ]
    )
    assert sorted(p.name for p in corpus.iterdir() if not p.name.startswith("0")) == [
        "Bài _mới_.txt"
    ]
    assert "6 tài liệu" in status
    assert "Hợp tác xã Bình Minh khánh thành nhà máy" in documents
    assert ("Hợp tác xã Bình Minh khánh thành nhà máy (Bài _mới_.txt)", "Bài _mới_.txt") in (
        removal["choices"]
    )
    assert progress.calls[-1] == (1.0, "Dựng chỉ mục từ khoá 1/1")

    again, *_ = page.upload([str(good)], FakeProgress())
    assert again == ui.upload_results_html(
        [ui.UploadResult("Bài <mới>.txt", True, "không đổi, đã có trong chỉ mục (Bài _mới_.txt)")]
    )
    *_, (chat, turns, *_) = ask(
        page, "Nhà máy của Hợp tác xã Bình Minh tạo việc làm cho bao nhiêu lao động?"
    )
    assert turns[0].answer.citations[0].doc_id == "Bài _mới_.txt"
    assert "86 lao động" in turns[0].answer.text


def test_remove_takes_a_document_out_of_the_index(page):
    message, status, documents, removal, outlets = page.remove(["000_cc43d066e58669a5.txt"])
    assert message == ("Đã gỡ 1 tài liệu khỏi chỉ mục (tệp vẫn nằm trong thư mục kho tài liệu).")
    assert "4 tài liệu" in status and TITLE not in documents
    assert outlets["choices"] == [("Tất cả", ""), ("ĐBP", "ĐBP")]
    assert page.remove([])[0] == '<span class="error">Chọn ít nhất một tài liệu để gỡ.</span>'


def test_feedback_appends_vote_question_answer_citations(page):
    *_, (chat, turns, *_) = ask(page, QUESTION)
    page.feedback(turns, gr.LikeData(None, {"index": 1, "value": chat[1], "liked": True}))
    page.feedback(turns, gr.LikeData(None, {"index": 1, "value": chat[1], "liked": False}))
    lines = page.feedback_path.read_text("utf-8").splitlines()
    assert page.feedback_path == Path(page.settings.data_dir) / "feedback.jsonl"
    records = [json.loads(line) for line in lines]
    assert [r["vote"] for r in records] == ["up", "down"]
    assert records[0]["question"] == QUESTION
    assert records[0]["answer"] == turns[0].answer.text
    assert records[0]["citations"] == [c.to_json() for c in turns[0].answer.citations]


def test_full_article_is_served_only_for_indexed_documents(page):
    html = page.full_article("000_cc43d066e58669a5.txt", "")
    assert html.startswith(f'<div class="article-text">{TITLE}\n')
    assert page.full_article("../../etc/passwd", "") == (
        '<p class="muted">Không tìm thấy bài viết trong chỉ mục.</p>'
    )


def test_launch_options_bind_localhost_and_parse_auth():
    options = launch_options(Settings.from_env({"RAG_AUTH": "an:1,binh:2"}, dotenv=None))
    assert (options["server_name"], options["server_port"]) == ("127.0.0.1", 7860)
    assert options["auth"] == [("an", "1"), ("binh", "2")]
    assert options["max_file_size"] == 20 * 2**20


# ---------------------------------------------------------------------------------------------
# The served app through gradio_client: the same API a browser uses


def test_app_api_answers_and_uploads(page, tmp_path):
    from gradio_client import Client, handle_file

    port = free_port()
    app = create_app(page.assistant)
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        chat, sources, notice, question = client.predict(
            QUESTION, [], "hybrid", 5, "", "", "", api_name="/ask"
        )
        assert '<a class="cite" href="#src-1-1"' in chat[1]["content"][0]["text"]
        assert f'<span class="title">{TITLE}</span>' in sources
        upload = tmp_path / "tin.txt"
        upload.write_text("Tin ngắn\n\nHợp tác xã Bình Minh có 86 lao động.\n", "utf-8")
        result = client.predict([handle_file(str(upload))], api_name="/upload")[0]
        assert result == ui.upload_results_html(
            [ui.UploadResult("tin.txt", True, "đã thêm thành tin.txt (1 đoạn)")]
        )
    finally:
        app.close()
