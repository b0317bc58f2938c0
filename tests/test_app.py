"""The chat page without a browser: the formatting functions of rag.ui on the seeds' own text
(exact HTML), the page's handlers (`app.ChatPage`) over a real index of the seed corpus built
with the offline embedder (with a scripted answer where the exact output is checked), the
feedback log, and the login in front of the page."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import gradio as gr
import pytest

from app import SESSION_COOKIE, ChatPage, create_app, create_server
from rag import ui
from rag.assistant import Assistant, Delta, Draft, Reset
from rag.config import Settings
from rag.errors import QueryError
from rag.feedback import record_vote
from rag.types import Answer, Citation, DocumentInfo, FileOutcome, Filters, Status
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
    fields = dict(
        text=text,
        citations=(citation(),) if citations is None else citations,
        abstained=False,
        mode="extractive",
        question=QUESTION,
        span="Lê Minh Đức",
    )
    return Answer(**{**fields, **changes})


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


def test_answer_markdown_marks_unsupported_sentences():
    unsupported = "Hội nghị có 500 đại biểu dự. (chưa có nguồn kiểm chứng)"
    result = replace(answer(f"{QUOTE} [1] {unsupported}"), unsupported=(unsupported,))
    assert ui.answer_markdown(result, 1) == (
        "Bí thư Đảng uỷ Khối các cơ quan TP Hà Nội <strong>Lê Minh Đức</strong>, Trưởng Ban chỉ "
        "đạo Chương trình số 06-Ctr/ĐUK phát biểu tại Hội nghị. "
        f'<a class="cite" href="#src-1-1" title="{TITLE}">&#91;1&#93;</a> '
        '<span class="unsupported" title="Chưa có nguồn kiểm chứng">Hội nghị có 500 đại biểu '
        "dự. (chưa có nguồn kiểm chứng)</span>"
        '<br><span class="unsupported-note">Phần gạch chân chưa có nguồn kiểm chứng trong tài '
        "liệu; hãy kiểm tra lại.</span>"
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


def test_answer_markdown_renders_the_answers_own_bold_and_list_items_and_nothing_else():
    text = (
        "Có **2** bài viết khớp với câu hỏi:\n"
        f"- «{TITLE}» (Kinhtedothi, 17/02/2023, tác giả Thịnh An) [1]\n"
        "- «Nâng cao chất lượng tham mưu» (tác giả **SONG GIANG**) [2]\n"
        "1. *một* dấu sao, ** lẻ, # không phải tiêu đề"
    )
    second = citation(n=2, title="Nâng cao chất lượng tham mưu")
    result = answer(text, citations=(citation(), second), span=None)
    assert ui.answer_markdown(result, 1) == (
        "Có <strong>2</strong> bài viết khớp với câu hỏi:\n"
        f"- «{TITLE}» (Kinhtedothi, 17/02/2023, tác giả Thịnh An) "
        f'<a class="cite" href="#src-1-1" title="{TITLE}">&#91;1&#93;</a>\n'
        "- «Nâng cao chất lượng tham mưu» (tác giả <strong>SONG GIANG</strong>) "
        '<a class="cite" href="#src-1-2" title="Nâng cao chất lượng tham mưu">&#91;2&#93;</a>\n'
        "&#49;. &#42;một&#42; dấu sao, &#42;&#42; lẻ, &#35; không phải tiêu đề"
    )
    # While it streams the bold shows already.
    assert ui.streaming_markdown("Có **2** bài") == "Có <strong>2</strong> bài"


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
        '<span class="meta">&lt;b&gt;ĐBP&lt;/b&gt; · không rõ ngày</span></summary>'
        '<blockquote class="passage">'
        "<mark>Phùng Khải Lợi &lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x "
        "onerror=&quot;alert(2)&quot;&gt; phát biểu.</mark></blockquote>"
        '<p class="weak">Câu trích dẫn không khớp chặt với nhận định; hãy kiểm tra lại.</p>'
        '<button class="full-article" data-doc="&quot;&gt;&lt;img src=x onerror=alert(3)&gt;.txt" '
        'data-marks="0,81">Xem toàn bài</button><div class="article"></div></details>'
    )


@pytest.mark.parametrize(
    ("outlet", "date", "meta"),
    [
        ("Kinhtedothi", "2023-02-17", "Kinhtedothi · 17/02/2023"),
        (None, "2021-12-25", "không rõ nguồn · 25/12/2021"),
        ("ĐBP", None, "ĐBP · không rõ ngày"),
        (None, None, "không rõ nguồn/ngày"),
    ],
)
def test_source_card_says_outlet_and_date_or_that_they_are_unknown(outlet, date, meta):
    card = ui.citation_html(citation(outlet=outlet, date=date), 1)
    assert f'<span class="meta">{meta}</span></summary>' in card


def test_highlight_escapes_the_text_before_inside_and_after_the_marked_sentence():
    text = "<b>Trước</b> Lê Minh Đức phát biểu. <script>alert(1)</script> sau"
    start = text.index("Lê")
    end = text.index(" <script>")
    assert ui.highlight(text, 100, [(100 + start, 100 + end, (100 + start, 100 + start + 11))]) == (
        "&lt;b&gt;Trước&lt;/b&gt; <mark><strong>Lê Minh Đức</strong> phát biểu.</mark> "
        "&lt;script&gt;alert(1)&lt;/script&gt; sau"
    )


def test_sources_html_shows_newest_answer_open_and_older_folded():
    turns = [ui.Turn("Câu một?", answer()), ui.Turn("<i>Câu hai</i>?", answer(citations=()))]
    assert ui.sources_html(turns) == (
        '<details class="turn" id="turn-2" open><summary>Câu hỏi 2: &lt;i&gt;Câu hai&lt;/i&gt;?'
        '</summary><p class="muted">Câu trả lời này không có nguồn trích dẫn.</p></details>'
        '<details class="turn" id="turn-1"><summary>Câu hỏi 1: Câu một?</summary>'
        '<details class="source" id="src-1-1"><summary><span class="n">[1]</span> '
        f'<span class="title">{TITLE}</span> <span class="meta">Kinhtedothi · 17/02/2023</span>'
        '</summary><blockquote class="passage">Kinhtedothi-Sáng 17/2, Ban Chỉ đạo Chương trình '
        "số 06-Ctr/ĐUK (khoá XIII).\n\n<mark>Bí thư Đảng uỷ Khối các cơ quan TP Hà Nội "
        "<strong>Lê Minh Đức</strong>, Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK phát biểu "
        "tại Hội nghị.</mark></blockquote>"
        '<button class="full-article" data-doc="000_cc43d066e58669a5.txt" '
        'data-marks="167,291,209,220">Xem toàn bài</button><div class="article"></div>'
        "</details></details>"
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


def test_article_html_shows_only_the_given_ranges_and_the_cited_sentence():
    text = f"{TITLE}\n\nChia sẻ Zalo\n\nĐoạn một <i>của</i> bài.\n\nẢnh: chú thích.\n\nĐoạn hai."
    one = text.index("Đoạn một")
    two = text.index("Đoạn hai")
    caption = text.index("Ảnh")
    shown = [(0, len(TITLE)), (one, one + len("Đoạn một <i>của</i> bài.")), (two, len(text))]
    marks = [(caption, caption + 15, None)]
    assert ui.article_html(text, marks, shown) == (
        f'<div class="article-text">{TITLE}\n\nĐoạn một &lt;i&gt;của&lt;/i&gt; bài.\n\n'
        "<mark>Ảnh: chú thích.</mark>\n\nĐoạn hai.</div>"
    )


# ---------------------------------------------------------------------------------------------
# Status line


STATUS = Status(
    documents=5,
    chunks=50,
    embedding_model="hashing",
    embedding_fallback=True,
    vectors_pending=0,
    llm=None,
    retrieval_mode="hybrid",
    data_dir="data",
    corpus=None,
    requested_model="intfloat/multilingual-e5-base",
)


def test_status_is_one_plain_line_with_details_on_demand():
    assert ui.status_html(STATUS) == (
        '<details class="status"><summary title="Bấm để xem chi tiết">Trả lời bằng trích dẫn '
        "từ tài liệu · 5 tài liệu</summary><ul>"
        "<li>Câu trả lời: trích nguyên văn câu trong tài liệu (không dùng mô hình ngôn ngữ)</li>"
        "<li>Mô hình nhúng: hashing (dự phòng ngoại tuyến: không tải được "
        "intfloat/multilingual-e5-base)</li>"
        "<li>Chế độ truy hồi: kết hợp từ khoá và ngữ nghĩa</li>"
        "<li>Chỉ mục: 5 tài liệu, 50 đoạn</li></ul></details>"
    )


def test_status_says_an_llm_answers_and_that_vectors_or_the_corpus_are_still_loading():
    status = replace(
        STATUS,
        embedding_model="intfloat/multilingual-e5-base",
        embedding_fallback=False,
        llm="qwen2.5-7b-instruct",
        vectors_pending=30,
    )
    line = ui.status_html(status)
    assert line == (
        '<details class="status"><summary title="Bấm để xem chi tiết">Trả lời bằng mô hình '
        'ngôn ngữ · 5 tài liệu · <span class="busy">đang tạo vector</span></summary><ul>'
        "<li>Câu trả lời: mô hình ngôn ngữ qwen2.5-7b-instruct, kèm trích dẫn đã kiểm tra</li>"
        "<li>Mô hình nhúng: intfloat/multilingual-e5-base</li>"
        "<li>Chế độ truy hồi: kết hợp từ khoá và ngữ nghĩa</li>"
        "<li>Chỉ mục: 5 tài liệu, 50 đoạn</li>"
        "<li>30 đoạn chưa có vector: trong lúc chờ, các đoạn đó được tìm theo từ khoá</li>"
        "</ul></details>"
    )
    loading = ui.status_html(
        replace(STATUS, documents=0, chunks=0, indexing=("embed", 256, 1000), error="<hỏng>")
    )
    assert loading.startswith(
        '<details class="status"><summary title="Bấm để xem chi tiết">Trả lời bằng trích dẫn '
        'từ tài liệu · 0 tài liệu · <span class="busy">đang nạp Tạo vector 256/1000</span> · '
        '<span class="error">nạp lỗi</span></summary>'
    )
    assert loading.endswith(
        "<li>Đang nạp kho tài liệu: Tạo vector 256/1000</li>"
        '<li><span class="error">Lỗi khi nạp: &lt;hỏng&gt;</span></li></ul></details>'
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
        FileOutcome("<img src=x onerror=alert(1)>.txt", "refused", reason="tệp rỗng"),
        FileOutcome("bai.txt", "added", "bai.txt", 1),
    ]
    assert ui.upload_results_html(results) == (
        '<ul class="uploads"><li class="failed">✗ <code>&lt;img src=x onerror=alert(1)&gt;.txt'
        '</code>: tệp rỗng</li><li class="ok">✓ <code>bai.txt</code>: đã thêm thành bai.txt '
        "(1 đoạn)</li></ul>"
    )
    documents = [DocumentInfo("<x>.txt", XSS, None, "2022-03-07", 9)]
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


def test_filters_text_and_nothing_found_notice():
    filters = Filters(outlet="<ĐBP>", date_from="2024-01-01", date_to="2024-12-31")
    assert ui.filters_text(filters) == "từ 01/01/2024 · đến 31/12/2024 · nguồn <ĐBP>"
    assert ui.nothing_found_html(Filters(date_from="2024-01-01")) == (
        '<span class="filtered">Không tìm thấy câu trả lời khi đang lọc (từ 01/01/2024). '
        "Bỏ bộ lọc để tìm trong cả kho tài liệu.</span>"
    )
    assert "(từ 01/01/2024 · đến 31/12/2024 · nguồn &lt;ĐBP&gt;)" in ui.nothing_found_html(filters)


def test_feedback_record_carries_the_answer_id():
    record = ui.feedback_record(
        False, ui.Turn(QUESTION, answer(), "a1"), datetime(2024, 3, 12, 8, 30, tzinfo=UTC)
    )
    assert record == {
        "id": "a1",
        "time": "2024-03-12T08:30:00+00:00",
        "vote": "down",
        "question": QUESTION,
        "answer": QUOTE + " [1]",
        "citations": [citation().to_json()],
    }


def vote(answer_id: str, value: str, question: str = QUESTION) -> dict:
    return {"id": answer_id, "vote": value, "question": question}


def test_feedback_keeps_one_vote_per_answer_and_a_later_vote_replaces_it(tmp_path):
    log = tmp_path / "data" / "feedback.jsonl"
    record_vote(log, vote("a1", "up"))
    record_vote(log, vote("a2", "up", "Ông ấy phát biểu ở đâu?"))
    record_vote(log, vote("a1", "down"))
    assert log.read_text("utf-8") == (
        '{"id": "a2", "vote": "up", "question": "Ông ấy phát biểu ở đâu?"}\n'
        f'{{"id": "a1", "vote": "down", "question": "{QUESTION}"}}\n'
    )


@pytest.mark.slow
def test_feedback_log_stays_under_its_size_cap_dropping_the_oldest_answers(tmp_path):
    log = tmp_path / "feedback.jsonl"
    line = len(json.dumps(vote("a000", "up"), ensure_ascii=False).encode()) + 1
    for i in range(781):  # one session's worth of clicks (issue 10, finding 11)
        record_vote(log, vote(f"a{i:03d}", "up"), max_bytes=10 * line)
    lines = log.read_text("utf-8").splitlines()
    assert [json.loads(x)["id"] for x in lines] == [f"a{i:03d}" for i in range(771, 781)]
    assert log.stat().st_size == 10 * line
    # No temporary file left behind (the lock file that serialises writers stays, empty).
    assert sorted(tmp_path.iterdir()) == [tmp_path / ".feedback.jsonl.lock", log]


# ---------------------------------------------------------------------------------------------
# The page's handlers over a real index


@pytest.fixture
def page(tmp_path, seed_corpus, monkeypatch):
    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)
    monkeypatch.setenv("RAG_EMBEDDING_MODEL", "hashing")
    monkeypatch.setenv("RAG_CORPUS_DIR", str(corpus))
    assistant = Assistant.from_settings(Settings.from_env(dotenv=None))
    assistant.ingest(corpus)
    # The test's folder stands for Gradio's upload folder: the files it uploads are made there.
    return ChatPage(assistant, max_upload_bytes=4096, upload_dir=tmp_path)


def ask(page: ChatPage, question: str, chat=None, turns=None, date_from=""):
    return list(page.respond(question, chat, turns, "hybrid", 5, date_from, "", ""))


class FakeProgress:
    def __init__(self):
        self.calls = []

    def __call__(self, fraction, desc=None):
        self.calls.append((round(fraction, 3), desc))


ANSWER_MARKDOWN = (
    "Bí thư Đảng uỷ Khối các cơ quan TP Hà Nội <strong>Lê Minh Đức</strong>, Trưởng Ban chỉ "
    "đạo Chương trình số 06-Ctr/ĐUK phát biểu tại Hội nghị. "
    f'<a class="cite" href="#src-1-1" title="{TITLE}">&#91;1&#93;</a>'
)
SOURCES_HTML = (
    '<details class="turn" id="turn-1" open><summary>Câu hỏi 1: '
    f"{QUESTION}</summary>"
    '<details class="source" id="src-1-1"><summary><span class="n">[1]</span> '
    f'<span class="title">{TITLE}</span> <span class="meta">Kinhtedothi · 17/02/2023</span>'
    '</summary><blockquote class="passage">Kinhtedothi-Sáng 17/2, Ban Chỉ đạo Chương trình '
    "số 06-Ctr/ĐUK (khoá XIII).\n\n<mark>Bí thư Đảng uỷ Khối các cơ quan TP Hà Nội "
    "<strong>Lê Minh Đức</strong>, Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK phát biểu "
    "tại Hội nghị.</mark></blockquote>"
    '<button class="full-article" data-doc="000_cc43d066e58669a5.txt" '
    'data-marks="167,291,209,220">Xem toàn bài</button><div class="article"></div>'
    "</details></details>"
)


def script(page: ChatPage, monkeypatch, *events, llm=None) -> None:
    """The page's assistant replays `events` (deltas, resets, the answer) for any question."""

    def stream(question, history=(), **_):
        if not question.strip():
            raise QueryError("Câu hỏi trống: hãy nhập một câu hỏi.")
        yield from events

    monkeypatch.setattr(page.assistant, "stream", stream)
    monkeypatch.setattr(page.assistant, "llm", llm)


def test_respond_shows_a_finished_extractive_answer_at_once(page, monkeypatch):
    words = [Delta(w) for w in ("Bí ", "thư ", "Đảng ", "uỷ ", "[1]")]
    script(page, monkeypatch, *words, answer())
    [(chat, turns, sources, notice, question)] = ask(page, QUESTION)
    assert chat == [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": ANSWER_MARKDOWN},
    ]
    assert sources == SOURCES_HTML
    assert (notice, question) == ("", "")
    assert turns[0].question == QUESTION and len(turns[0].id) == 32


def test_respond_streams_an_llm_answer_token_by_token(page, monkeypatch):
    tokens = [Delta("Ông "), Delta("Lê Minh Đức "), Delta("[1]")]
    script(page, monkeypatch, *tokens, answer(mode="llm"), llm=object())
    updates = ask(page, QUESTION)
    assert [u[0][1]["content"] for u in updates] == [
        "Ông ",
        "Ông Lê Minh Đức ",
        "Ông Lê Minh Đức &#91;1&#93;",
        ANSWER_MARKDOWN,
    ]
    assert all(isinstance(u[2], type(gr.skip())) for u in updates[:-1])
    assert updates[-1][2] == SOURCES_HTML


def test_respond_after_an_llm_failure_shows_the_notice_and_the_extractive_answer_at_once(
    page, monkeypatch
):
    notice = "Không kết nối được mô hình ngôn ngữ; đây là câu trả lời trích xuất."
    events = [Delta("Ông "), Reset(notice), Delta("Bí "), Delta("thư "), answer(notice=notice)]
    script(page, monkeypatch, *events, llm=object())
    updates = ask(page, QUESTION)
    assert [(u[0][1]["content"], u[3]) for u in updates] == [
        ("Ông ", ""),
        ("", f'<span class="muted">{notice}</span>'),
        (f"{ANSWER_MARKDOWN}<br><em>{notice}</em>", ""),
    ]


def test_respond_shows_the_extractive_draft_at_once_and_replaces_it_with_the_llm_answer(
    page, monkeypatch
):
    pending = "Mô hình ngôn ngữ đang trả lời; trong khi chờ, đây là câu trả lời trích xuất."
    events = [Draft(answer(notice=pending)), answer(mode="llm")]
    script(page, monkeypatch, *events, llm=object())
    updates = ask(page, QUESTION)
    assert [u[0][1]["content"] for u in updates] == [
        f"{ANSWER_MARKDOWN}<br><em>{pending}</em>",
        ANSWER_MARKDOWN,
    ]
    assert isinstance(updates[0][2], type(gr.skip())) and updates[-1][2] == SOURCES_HTML


def test_respond_over_the_real_index_links_citations_and_fills_sources(page):
    [(chat, turns, sources, notice, question)] = ask(page, QUESTION)
    final = turns[0].answer
    assert "Lê Minh Đức" in final.text
    assert '<a class="cite" href="#src-1-1"' in chat[1]["content"]
    assert f'<span class="title">{TITLE}</span>' in sources
    assert notice == ""


def test_nothing_found_under_a_filter_says_so_and_offers_to_clear_it(page):
    [(chat, turns, sources, notice, _)] = ask(page, QUESTION, date_from="01/01/2030")
    assert turns[0].answer.abstained
    assert notice == (
        '<span class="filtered">Không tìm thấy câu trả lời khi đang lọc (từ 01/01/2030). '
        "Bỏ bộ lọc để tìm trong cả kho tài liệu.</span>"
    )
    assert page.filter_offer(turns, "01/01/2030", "", "")["visible"] is True
    assert page.clear_filters() == ("", "", "", gr.update(visible=False), "")
    # "Bỏ bộ lọc" then asks the same question again, over the whole collection.
    [(chat, turns, sources, notice, _)] = page.ask_again(chat, turns, "hybrid", 5, "", "", "")
    assert [t.question for t in turns] == [QUESTION, QUESTION]
    assert not turns[1].answer.abstained and notice == ""
    assert "Lê Minh Đức" in chat[3]["content"]
    assert page.filter_offer(turns, "", "", "")["visible"] is False
    # Nothing asked yet: nothing to ask again.
    assert list(page.ask_again([], [], "hybrid", 5, "", "", "")) == [(gr.skip(),) * 5]


def test_three_example_questions_from_the_collection_ask_at_once(page):
    samples = page.examples().raw_samples
    assert samples == [
        ["Tóm tắt bài «Đảng uỷ Khối các cơ quan TP chủ động nâng cao chất…»"],
        ["Ai viết bài «Nâng cao năng lực lãnh đạo, sức chiến đấu của tổ chức…»?"],
        ["Có bao nhiêu bài viết trong bộ tài liệu?"],
    ]
    *_, (chat, turns, sources, notice, question) = page.ask_example(
        samples[2], [], [], "hybrid", 5, "", "", ""
    )
    assert chat[0]["content"] == "Có bao nhiêu bài viết trong bộ tài liệu?"
    assert chat[1]["content"].startswith("Có <strong>5</strong> bài viết trong bộ tài liệu:\n- «")
    assert "**" not in chat[1]["content"]
    assert (notice, question, len(turns)) == ("", "", 1)


def test_follow_up_uses_the_conversation(page):
    *_, (chat, turns, *_) = ask(page, QUESTION)
    *_, (chat, turns, *_) = ask(page, "Ông ấy phát biểu ở đâu?", chat, turns)
    assert len(chat) == 4 and len(turns) == 2
    assert turns[1].question == "Ông ấy phát biểu ở đâu?"
    assert turns[1].answer.standalone_question == "Lê Minh Đức phát biểu ở đâu?"
    assert page.clear() == ([], [], ui.NO_SOURCES, "", gr.update(visible=False))


def test_bad_question_or_filter_is_one_line_and_leaves_the_chat(page):
    (chat, turns, _, notice, question), *rest = ask(page, "   ")
    assert (chat, turns, rest) == ([], [], [])
    assert notice == '<span class="error">Câu hỏi trống: hãy nhập một câu hỏi.</span>'
    (chat, turns, _, notice, _), *rest = ask(page, QUESTION, date_from="hôm qua")
    assert notice == (
        '<span class="error">Từ ngày không hợp lệ: &#x27;hôm qua&#x27; '
        "(dạng 17/02/2023 hoặc 2023-02-17)</span>"
    )


def test_a_question_while_the_first_ingest_has_committed_nothing_is_asked_again_later(tmp_path):
    import threading

    assistant = Assistant.from_settings(Settings.from_env(dotenv=None))
    page = ChatPage(assistant)
    release = threading.Event()
    assistant.background.start(lambda progress: release.wait(30))
    try:
        status = assistant.status()
        assert (status.documents, status.indexing, status.busy) == (0, ("load", 0, 0), True)
        [(chat, turns, _, notice, _)] = ask(page, QUESTION)
        assert (chat, turns) == ([], [])
        assert notice == (
            '<span class="error">Kho tài liệu đang được nạp; hãy hỏi lại sau giây lát.</span>'
        )
    finally:
        release.set()
        assistant.background.join(30)
    assert assistant.status().busy is False
    [(chat, turns, _, notice, _)] = ask(page, QUESTION)
    assert turns[0].answer.abstained and notice == ""


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
    result, status, _timer, documents, removal, outlets = page.upload(files, progress)
    corpus = Path(page.settings.corpus_dir)
    assert result == (
        '<ul class="uploads"><li class="ok">✓ <code>Bài &lt;mới&gt;.txt</code>: đã thêm thành '
        'Bài _mới_.txt (1 đoạn)</li><li class="failed">✗ <code>anh.txt</code>: không phải tệp '
        'văn bản</li><li class="failed">✗ <code>lon.md</code>: tệp quá lớn (4.9 KB; tối đa 4 '
        'KB)</li><li class="failed">✗ <code>rong.txt</code>: tệp rỗng</li><li class="failed">✗ '
        "<code>virus.exe</code>: loại tệp không được hỗ trợ (.exe; nhận .txt, .md, .html, .htm, "
        ".pdf, .docx)</li></ul>"
    )
    assert sorted(p.name for p in corpus.iterdir() if not p.name.startswith("0")) == [
        "Bài _mới_.txt"
    ]
    # Its vectors follow in the background; the status line counts it at once.
    assert (
        '<summary title="Bấm để xem chi tiết">Trả lời bằng trích dẫn từ tài liệu · 6 tài liệu'
        in status
    )
    assert "Hợp tác xã Bình Minh khánh thành nhà máy" in documents
    assert ("Hợp tác xã Bình Minh khánh thành nhà máy (Bài _mới_.txt)", "Bài _mới_.txt") in (
        removal["choices"]
    )
    assert progress.calls[-1] == (1.0, "Dựng chỉ mục từ khoá 1/1")

    again, *_ = page.upload([str(good)], FakeProgress())
    assert again == (
        '<ul class="uploads"><li class="ok">✓ <code>Bài &lt;mới&gt;.txt</code>: không đổi, đã '
        "có trong chỉ mục (Bài _mới_.txt)</li></ul>"
    )
    *_, (chat, turns, *_) = ask(
        page, "Nhà máy của Hợp tác xã Bình Minh tạo việc làm cho bao nhiêu lao động?"
    )
    assert turns[0].answer.citations[0].doc_id == "Bài _mới_.txt"
    assert "86 lao động" in turns[0].answer.text


def test_after_an_upload_the_status_line_follows_the_vectors_to_their_end(page, tmp_path):
    import threading

    release = threading.Event()
    build = page.assistant.background._build_vectors
    page.assistant.background._build_vectors = lambda progress: release.wait(30) and build(progress)
    upload = tmp_path / "tin.txt"
    upload.write_text("Tin ngắn\n\nHợp tác xã Bình Minh có 86 lao động.\n", "utf-8")
    try:
        result, status, timer, *_ = page.upload([str(upload)], FakeProgress())
        assert "✓ <code>tin.txt</code>" in result
        # The vectors are being made: the line says so and this tab's timer starts polling.
        assert '6 tài liệu · <span class="busy">đang nạp Tạo vector</span>' in status
        assert timer.active is True
        status, timer, *_ = page.poll()
        assert timer.active is True
    finally:
        release.set()
        page.assistant.background.join(30)
    status, timer, *_ = page.poll()
    assert "Trả lời bằng trích dẫn từ tài liệu · 6 tài liệu</summary>" in status
    assert timer.active is False


def test_an_upload_over_the_size_limit_is_refused_in_one_line_and_never_loaded(
    page, tmp_path, monkeypatch
):
    # The bytes actually read are counted in test_hostile.py; this checks the page's line.
    import rag.assistant

    read = []
    load = rag.assistant.load_document
    monkeypatch.setattr(
        rag.assistant,
        "load_document",
        lambda path, root: read.append(path.name) or load(path, root),
    )
    big = tmp_path / "lon.md"
    big.write_text("Bài dài\n\n" + "Hợp tác xã Bình Minh có 86 lao động. " * 150, "utf-8")
    result, *_ = page.upload([str(big)], FakeProgress())
    assert result == (
        '<ul class="uploads"><li class="failed">✗ <code>lon.md</code>: tệp quá lớn (6.7 KB; '
        "tối đa 4 KB)</li></ul>"
    )
    assert read == []


def test_remove_takes_a_document_out_of_the_index(page):
    message, status, _timer, documents, removal, outlets = page.remove(["000_cc43d066e58669a5.txt"])
    assert message == ("Đã gỡ 1 tài liệu khỏi chỉ mục (tệp vẫn nằm trong thư mục kho tài liệu).")
    assert "trích dẫn từ tài liệu · 4 tài liệu</summary>" in status and TITLE not in documents
    assert outlets["choices"] == [("Tất cả", ""), ("ĐBP", "ĐBP")]
    assert page.remove([])[0] == '<span class="error">Chọn ít nhất một tài liệu để gỡ.</span>'


def test_feedback_on_the_page_is_one_vote_per_answer(page):
    *_, (chat, turns, *_) = ask(page, QUESTION)
    *_, (chat, turns, *_) = ask(page, "Ông ấy phát biểu ở đâu?", chat, turns)
    shown = [
        page.feedback(turns, gr.LikeData(None, {"index": index, "value": "", "liked": liked}))
        for index, liked in ((1, True), (1, False), (3, True), (1, False))
    ]
    # Each vote says in the notice line that it was kept.
    assert shown == [
        '<span class="muted">Đã ghi nhận: câu trả lời hữu ích. Cảm ơn bạn!</span>',
        '<span class="muted">Đã ghi nhận: câu trả lời chưa hữu ích. Cảm ơn bạn!</span>',
        '<span class="muted">Đã ghi nhận: câu trả lời hữu ích. Cảm ơn bạn!</span>',
        '<span class="muted">Đã ghi nhận: câu trả lời chưa hữu ích. Cảm ơn bạn!</span>',
    ]
    # A vote on no answer is not recorded and says nothing.
    none = gr.LikeData(None, {"index": 9, "value": "", "liked": True})
    assert page.feedback(turns, none) == gr.skip()
    assert page.feedback_path == Path(page.settings.data_dir) / "feedback.jsonl"
    records = [json.loads(line) for line in page.feedback_path.read_text("utf-8").splitlines()]
    assert [(r["id"], r["vote"]) for r in records] == [(turns[1].id, "up"), (turns[0].id, "down")]
    assert records[1]["question"] == QUESTION
    assert records[1]["answer"] == turns[0].answer.text
    assert records[1]["citations"] == [c.to_json() for c in turns[0].answer.citations]


def test_full_article_is_the_cleaned_article_and_served_only_for_indexed_documents(page):
    text = (Path(page.settings.corpus_dir) / "000_cc43d066e58669a5.txt").read_text("utf-8")
    start = text.index(QUOTE)  # the first of the caption's two copies
    name = text.index("Lê Minh Đức", start)
    html = page.full_article(
        "000_cc43d066e58669a5.txt", f"{start},{start + len(QUOTE)},{name},{name + 11}"
    )
    assert html.startswith(
        f'<div class="article-text">{TITLE}\n\nKinhtedothi-Sáng 17/2, Ban Chỉ đạo Chương '
        "trình số 06-Ctr/ĐUK (khoá XIII) của Đảng uỷ Khối các cơ quan TP Hà Nội đã tổ chức Hội "
        "nghị sơ kết 2 năm thực hiện Chương trình số 06-Ctr/ĐUK của Đảng ủy Khối và triển khai "
        "nhiệm vụ trọng tâm năm 2023.\n\n<mark>Bí thư Đảng uỷ Khối các cơ quan TP Hà Nội "
        "<strong>Lê Minh Đức</strong>, Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK phát biểu "
        "tại Hội nghị.</mark>\n\nBí thư Đảng uỷ Khối các cơ quan TP Hà Nội Lê Minh Đức, Trưởng "
        "Ban chỉ đạo Chương trình số 06-Ctr/ĐUK chủ trì Hội nghị.\n\n"
    )
    # The byline, the share button and the caption's second copy are gone.
    assert "Thịnh An" not in html and "Chia sẻ" not in html
    assert html.count("phát biểu tại Hội nghị.") == 1
    assert page.full_article("../../etc/passwd", "") == (
        '<p class="muted">Không tìm thấy bài viết trong chỉ mục.</p>'
    )
    (Path(page.settings.corpus_dir) / "000_cc43d066e58669a5.txt").unlink()
    assert page.full_article("000_cc43d066e58669a5.txt", "") == (
        '<p class="muted">Không đọc được bài viết: không đọc được tệp: không tìm thấy tệp</p>'
    )


# ---------------------------------------------------------------------------------------------
# The login in front of the page


@pytest.fixture
def server(page, monkeypatch):
    from fastapi.testclient import TestClient

    monkeypatch.setattr(
        page.assistant, "settings", replace(page.assistant.settings, auth="an:mật khẩu")
    )
    return TestClient(create_server(page.assistant), follow_redirects=False)


def test_login_page_is_vietnamese_and_guards_the_page(server):
    assert server.get("/").headers["location"] == "/dang-nhap"
    assert server.get("/config").status_code == 401
    assert server.get("/gradio_api/info").status_code == 401
    assert server.post("/gradio_api/upload").status_code == 401
    assert server.post("/gradio_api/queue/join").status_code == 401
    login = server.get("/dang-nhap").text
    for text in ("Tên đăng nhập", "Mật khẩu", ">Đăng nhập</button>", ui.LOGIN_MESSAGE):
        assert text in login
    for english in ("Login", "username", "password", "Incorrect"):
        assert f">{english}" not in login
    origin = {"Origin": "http://testserver"}  # a browser's form post says where it comes from
    wrong = server.post("/dang-nhap", data={"username": "an", "password": "sai"}, headers=origin)
    assert wrong.status_code == 401
    assert f'<p class="error" role="alert">{ui.LOGIN_FAILED}</p>' in wrong.text
    right = server.post(
        "/dang-nhap", data={"username": "an", "password": "mật khẩu"}, headers=origin
    )
    assert (right.status_code, right.headers["location"]) == (303, "/")
    assert SESSION_COOKIE in right.cookies
    assert server.get("/").status_code == 200
    assert server.get("/config").status_code == 200
    server.get("/dang-xuat")
    assert server.get("/config").status_code == 401


# ---------------------------------------------------------------------------------------------
# The served app through gradio_client: the same API a browser uses


@pytest.mark.slow
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
        assert result == (
            '<ul class="uploads"><li class="ok">✓ <code>tin.txt</code>: đã thêm thành tin.txt '
            "(1 đoạn)</li></ul>"
        )
    finally:
        app.close()
