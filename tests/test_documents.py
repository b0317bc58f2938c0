"""rag.documents: loading every file type, cleaning, metadata, on the seed articles."""

from __future__ import annotations

import hashlib
import unicodedata
from pathlib import Path

import pytest

from rag.documents import (
    SUPPORTED_SUFFIXES,
    DocumentError,
    iter_document_paths,
    load_document,
)
from rag.sources import doc_id_for
from tests.conftest import scan_folder

SEED_000 = "000_cc43d066e58669a5.txt"
SEED_001 = "001_de17a9f0785143ac.txt"
SEED_002 = "002_4b3c1fe148501639.txt"
SEED_003 = "003_45ec861fa7425e3b.txt"
SEED_004 = "004_aa61c7b126e7bd72.txt"

# Opening of seed 002: title, byline, lead paragraph.
TITLE_002 = "Nâng cao chất lượng tham mưu"
LEAD_002 = (
    "Đó là quyết tâm của Đảng bộ Khối các cơ quan tỉnh giai đoạn 2020 - 2025, gắn với chăm lo "
    "thực hiện tốt công tác xây dựng, chỉnh đốn Đảng, nâng cao chất lượng đội ngũ cán bộ, đảng "
    "viên đáp ứng yêu cầu nhiệm vụ trong tình hình mới."
)
ARTICLE_002 = f"{TITLE_002}\n\nSONG GIANG |\n\n{LEAD_002}\n"
CAPTION_000 = (
    "Bí thư Đảng uỷ Khối các cơ quan TP Hà Nội Lê Minh Đức, Trưởng Ban chỉ đạo Chương trình "
    "số 06-Ctr/ĐUK phát biểu tại Hội nghị."
)


def _load_seed(seed_corpus: Path, name: str):
    return load_document(seed_corpus / name, seed_corpus)


def _body_text(article) -> str:
    return "\n".join(article.text[s:e] for s, e in article.body)


@pytest.mark.parametrize(
    ("name", "title", "author", "outlet", "date", "spans"),
    [
        (
            SEED_000,
            "Đảng uỷ Khối các cơ quan TP chủ động nâng cao chất lượng đảng viên",
            "Thịnh An",
            "Kinhtedothi",
            "2023-02-17",
            6,
        ),
        (
            SEED_001,
            "Đảng ủy Khối các Cơ quan và Doanh nghiệp tỉnh nâng cao năng lực lãnh đạo của các "
            "tổ chức cơ sở Đảng",
            "Xuân Thu",
            None,
            None,
            1,
        ),
        (SEED_002, TITLE_002, "SONG GIANG", None, None, 2),
        (
            SEED_003,
            "Lựa chọn những vấn đề trọng tâm, then chốt để tập trung lãnh đạo, tạo chuyển biến",
            "Thùy Dương",
            None,
            "2021-12-25",
            1,
        ),
        (
            SEED_004,
            "Nâng cao năng lực lãnh đạo, sức chiến đấu của tổ chức cơ sở đảng",
            "Gia Kiệt",
            "ĐBP",
            "2022-03-07",
            1,
        ),
    ],
)
def test_seed_metadata(seed_corpus, name, title, author, outlet, date, spans):
    article = _load_seed(seed_corpus, name)
    assert (article.title, article.author, article.outlet, article.date) == (
        title,
        author,
        outlet,
        date,
    )
    assert len(article.body) == spans
    assert article.doc_id == name
    assert article.source == str((seed_corpus / name).absolute())
    data = (seed_corpus / name).read_bytes()
    assert article.content_hash == hashlib.sha256(data).hexdigest()
    assert article.text == data.decode("utf-8")


@pytest.mark.parametrize("name", [SEED_000, SEED_001, SEED_002, SEED_003, SEED_004])
def test_seed_spans_are_original_text(seed_corpus, name):
    article = _load_seed(seed_corpus, name)
    original = (seed_corpus / name).read_text(encoding="utf-8")
    previous_end = 0
    for start, end in article.body:
        assert previous_end <= start < end
        assert article.text[start:end] == original[start:end]
        assert article.text[start:end] == article.text[start:end].strip()
        previous_end = end
    assert article.title in original


def test_seed_000_body_drops_header_share_button_and_repeated_captions(seed_corpus):
    article = _load_seed(seed_corpus, SEED_000)
    body = _body_text(article)
    assert body.count(CAPTION_000) == 1
    assert body.count("Quang cảnh Hội nghị") == 1
    assert "Chia sẻ Zalo" not in body
    assert "Thịnh An" not in body
    assert article.title not in body
    assert body.startswith("Kinhtedothi-Sáng 17/2, Ban Chỉ đạo Chương trình số 06-Ctr/ĐUK")
    assert body.endswith("tăng cường giám sát việc thực hiện quy chế dân chủ cơ sở.")


def test_seed_trailers_and_headers_are_not_body(seed_corpus):
    body_001 = _body_text(_load_seed(seed_corpus, SEED_001))
    assert "Bài và ảnh" not in body_001
    assert body_001.endswith("năm 2021 đã đề ra./.")
    body_002 = _body_text(_load_seed(seed_corpus, SEED_002))
    assert "TAGS" not in body_002
    assert "SONG GIANG" not in body_002
    assert body_002.startswith(LEAD_002)
    article_003 = _load_seed(seed_corpus, SEED_003)
    body_003 = _body_text(article_003)
    assert "Link gốc" not in body_003
    assert "18:01:00" not in body_003
    assert not body_003.endswith("Thùy Dương")
    # The lone non-breaking space between the lead and the caption does not split the body.
    assert "\xa0" in body_003
    body_004 = _body_text(_load_seed(seed_corpus, SEED_004))
    for boilerplate in ("Bình luận", "Back To Top", "Lượt xem", "In bài viết", "Chính trị"):
        assert boilerplate not in body_004
    assert body_004.startswith("ĐBP - Xác định việc tiếp tục đổi mới")
    assert body_004.endswith("chất lượng sinh hoạt chi bộ.")


def test_crlf_line_endings_keep_the_same_cleaning(tmp_path, seed_corpus):
    crlf = (seed_corpus / SEED_000).read_bytes().replace(b"\n", b"\r\n")
    (tmp_path / "bai.txt").write_bytes(crlf)
    article = load_document(tmp_path / "bai.txt", tmp_path)
    seed = _load_seed(seed_corpus, SEED_000)
    assert (article.title, article.author, article.outlet, article.date) == (
        seed.title,
        seed.author,
        seed.outlet,
        seed.date,
    )
    assert _body_text(article).replace("\r\n", "\n") == _body_text(seed)
    assert all(not article.text[s:e].endswith("\r") for s, e in article.body)


def test_generic_follow_and_tag_lines_are_boilerplate(tmp_path):
    path = tmp_path / "bai.txt"
    path.write_text(
        f"{TITLE_002}\n\n{LEAD_002}\n\nTheo dõi Báo Kinh tế & Đô thị trên Google News\n"
        "Tags: Đảng ủy khối, chất lượng đảng viên\nChia sẻ\n",
        encoding="utf-8",
    )
    assert _body_text(load_document(path, tmp_path)) == LEAD_002


def test_text_without_a_title_line_keeps_its_first_paragraph(tmp_path):
    paragraph = " ".join([LEAD_002] * 3)
    (tmp_path / "bai.txt").write_text(paragraph, encoding="utf-8")
    article = load_document(tmp_path / "bai.txt", tmp_path)
    assert article.title == LEAD_002
    assert article.body == ((0, len(paragraph)),)


def _cp1258(text: str) -> bytes:
    """Windows-1258 has few precomposed letters: the tone goes after the base as a combining mark."""
    tones = "\u0300\u0301\u0303\u0309\u0323"
    out = []
    for ch in text:
        try:
            out.append(ch.encode("cp1258"))
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in tones))
            out.append((base + "".join(c for c in parts if c in tones)).encode("cp1258"))
    return b"".join(out)


@pytest.mark.parametrize(
    "encode",
    [
        lambda s: s.encode("utf-8"),
        lambda s: s.encode("utf-8-sig"),
        lambda s: s.encode("utf-16"),
        lambda s: s.encode("utf-16-le"),
        lambda s: s.encode("utf-16-be"),
        _cp1258,
    ],
    ids=["utf-8", "utf-8-sig", "utf-16", "utf-16-le-no-bom", "utf-16-be-no-bom", "cp1258"],
)
def test_encodings_give_the_same_article(tmp_path, encode):
    path = tmp_path / "bai.txt"
    path.write_bytes(encode(ARTICLE_002))
    article = load_document(path, tmp_path)
    assert unicodedata.normalize("NFC", article.title) == TITLE_002
    assert unicodedata.normalize("NFC", _body_text(article)) == LEAD_002
    assert article.author == "SONG GIANG"
    assert not article.text.startswith("\ufeff")


def test_cp1258_text_is_nfc(tmp_path):
    data = _cp1258(ARTICLE_002)
    assert "\u0301".encode("cp1258") in data  # the file really uses combining tone marks
    (tmp_path / "bai.txt").write_bytes(data)
    article = load_document(tmp_path / "bai.txt", tmp_path)
    assert article.text == ARTICLE_002
    assert article.title == TITLE_002


def test_markdown_title_drops_the_hashes(tmp_path):
    path = tmp_path / "bai.md"
    path.write_text(f"# {TITLE_002}\n\nSONG GIANG |\n\n{LEAD_002}\n", encoding="utf-8")
    article = load_document(path, tmp_path)
    assert article.title == TITLE_002
    assert article.text[article.body[0][0] : article.body[0][1]] == LEAD_002
    assert article.author == "SONG GIANG"


# A line break in the HTML source inside a <p> is only a space.
LEAD_002_WRAPPED = LEAD_002.replace(", gắn với", ",\n     gắn với")
HTML_002 = f"""<!doctype html>
<html><head><title>{TITLE_002} - Báo Bình Định</title>
<meta property="og:site_name" content="Báo Bình Định">
<meta property="article:published_time" content="2020-10-05T08:00:00+07:00">
<script>var quangCao = "không được xuất hiện";</script>
<style>p {{ color: red; }}</style></head>
<body>
<nav><a href="/">Trang chủ</a> <a href="/chinh-tri">Chính trị</a></nav>
<article>
  <h1>{TITLE_002}</h1>
  <p>SONG GIANG |</p>
  <p>{LEAD_002_WRAPPED}</p>
  <script>document.write("không được xuất hiện")</script>
  <p>Nhìn nhận hạn chế</p>
</article>
<footer>Bản quyền thuộc Báo Bình Định</footer>
</body></html>
"""


def test_html_main_text_title_and_meta_date(tmp_path):
    path = tmp_path / "bai.html"
    path.write_text(HTML_002, encoding="utf-8")
    article = load_document(path, tmp_path)
    assert article.text == f"{TITLE_002}\n\nSONG GIANG |\n\n{LEAD_002}\n\nNhìn nhận hạn chế"
    assert article.title == TITLE_002
    assert _body_text(article) == f"{LEAD_002}\n\nNhìn nhận hạn chế"
    assert (article.author, article.outlet, article.date) == (
        "SONG GIANG",
        "Báo Bình Định",
        "2020-10-05",
    )
    for hidden in ("không được xuất hiện", "Trang chủ", "Bản quyền", "color"):
        assert hidden not in article.text


def test_html_title_outside_the_article_is_put_first(tmp_path):
    path = tmp_path / "bai.htm"
    path.write_text(
        f"<html><body><header><h1>{TITLE_002}</h1></header>"
        f"<main><p>{LEAD_002}</p></main></body></html>",
        encoding="utf-8",
    )
    article = load_document(path, tmp_path)
    assert article.text == f"{TITLE_002}\n\n{LEAD_002}"
    assert article.title == TITLE_002
    assert _body_text(article) == LEAD_002


def test_docx_paragraphs(tmp_path):
    docx = pytest.importorskip("docx")
    document = docx.Document()
    for paragraph in (TITLE_002, "SONG GIANG |", LEAD_002, "TAGS"):
        document.add_paragraph(paragraph)
    document.save(tmp_path / "bai.docx")
    article = load_document(tmp_path / "bai.docx", tmp_path)
    assert article.text == f"{TITLE_002}\nSONG GIANG |\n{LEAD_002}\nTAGS"
    assert article.title == TITLE_002
    assert article.author == "SONG GIANG"
    assert _body_text(article) == LEAD_002


def _text_pdf(lines: list[str]) -> bytes:
    """A one-page PDF whose font maps each 2-byte code to the Unicode character with that value,
    so pypdf can extract Vietnamese text without any embedded glyphs."""
    chars = sorted({ord(c) for line in lines for c in line})
    mapping = "".join(f"<{c:04X}> <{c:04X}>\n" for c in chars)
    cmap = (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
        "1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
        f"{len(chars)} beginbfchar\n{mapping}endbfchar\n"
        "endcmap CMapName currentdict /CMap defineresource pop end end"
    )
    shows = "".join("<" + "".join(f"{ord(c):04X}" for c in line) + "> Tj T*\n" for line in lines)
    content = f"BT /F1 12 Tf 14 TL 50 800 Td\n{shows}ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        " /Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type0 /BaseFont /Arial /Encoding /Identity-H"
        " /DescendantFonts [6 0 R] /ToUnicode 7 0 R >>",
        "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /Arial"
        " /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 500 >>",
        f"<< /Length {len(cmap.encode('ascii'))} >>\nstream\n{cmap}\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("ascii")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode("ascii")
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode("ascii")
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode("ascii")
    out += f"startxref\n{xref}\n%%EOF\n".encode("ascii")
    return bytes(out)


def test_pdf_text(tmp_path):
    lead = "Đó là quyết tâm của Đảng bộ Khối các cơ quan tỉnh giai đoạn 2020 - 2025,"
    (tmp_path / "bai.pdf").write_bytes(_text_pdf([TITLE_002, "SONG GIANG |", lead]))
    article = load_document(tmp_path / "bai.pdf", tmp_path)
    assert article.title == TITLE_002
    assert article.author == "SONG GIANG"
    assert _body_text(article) == lead


def test_blank_pdf_has_no_text(tmp_path):
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=595, height=842)
    with open(tmp_path / "trang.pdf", "wb") as handle:
        writer.write(handle)
    with pytest.raises(DocumentError) as error:
        load_document(tmp_path / "trang.pdf", tmp_path)
    assert str(error.value) == "không có nội dung văn bản"


@pytest.mark.parametrize(
    ("name", "data", "prefix"),
    [
        ("hong.pdf", b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog", "tệp PDF hỏng: "),
        ("hong.docx", b"PK\x03\x04 not really a zip archive", "tệp DOCX hỏng: "),
    ],
)
def test_corrupt_pdf_and_docx(tmp_path, name, data, prefix):
    (tmp_path / name).write_bytes(data)
    with pytest.raises(DocumentError) as error:
        load_document(tmp_path / name, tmp_path)
    reason = str(error.value)
    assert reason.startswith(prefix)
    assert "\n" not in reason


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("rong.txt", b"", "tệp rỗng"),
        (
            "anh.txt",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
            "không phải tệp văn bản",
        ),
        ("dieu-khien.txt", bytes(range(1, 32)) * 8, "không phải tệp văn bản"),
        ("trang.txt", " \n\xa0\n".encode(), "không có nội dung văn bản"),
        (
            "rac.txt",
            "Chia sẻ Zalo\n\nBình luận\nBack To Top\n\xa0\nTAGS\nLượt xem: 9709 In bài viết\n".encode(),
            "không còn nội dung sau khi làm sạch",
        ),
        (
            "latin.txt",
            "Ceci n’est pas du vietnamien: ÿÞ¤Ð¦ ÿÞ¤Ð¦".encode("cp1252"),
            "không giải mã được (cần UTF-8, UTF-16 hoặc Windows-1258)",
        ),
        ("bai.rtf", b"{\\rtf1 hello}", "loại tệp không được hỗ trợ: .rtf"),
    ],
)
def test_bad_files_give_one_line_vietnamese_reasons(tmp_path, name, data, reason):
    (tmp_path / name).write_bytes(data)
    with pytest.raises(DocumentError) as error:
        load_document(tmp_path / name, tmp_path)
    assert str(error.value) == reason


@pytest.mark.parametrize(
    ("lead", "date"),
    [
        ("Sáng 17/2, Ban Chỉ đạo triển khai nhiệm vụ trọng tâm năm 2023.", "2023-02-17"),
        ("Sáng 17/2, Ban Chỉ đạo sơ kết giai đoạn 2021 - 2025. Năm 2023 sẽ khác.", None),
        ("Chiều 17/2/2022, Ban Chỉ đạo họp.", "2022-02-17"),
        ("Ban Chỉ đạo họp sáng 17/2 năm 2023.", None),
    ],
)
def test_date_from_the_dateline(tmp_path, lead, date):
    path = tmp_path / "bai.txt"
    path.write_text(f"{TITLE_002}\n\nKinhtedothi-{lead}\n", encoding="utf-8")
    article = load_document(path, tmp_path)
    assert (article.outlet, article.date) == ("Kinhtedothi", date)


def test_folder_with_one_bad_file(tmp_path, seed_corpus):
    (tmp_path / "bai-tot.txt").write_bytes((seed_corpus / SEED_002).read_bytes())
    (tmp_path / "tin").mkdir()
    (tmp_path / "tin" / "bai.md").write_text(f"# {TITLE_002}\n\n{LEAD_002}\n", encoding="utf-8")
    (tmp_path / "tin" / "rong.txt").write_bytes(b"")
    (tmp_path / ".an").mkdir()
    (tmp_path / ".an" / "bi-mat.txt").write_text(ARTICLE_002, encoding="utf-8")
    (tmp_path / ".nhap.txt").write_text(ARTICLE_002, encoding="utf-8")
    (tmp_path / "ghi-chu.csv").write_text("a,b\n", encoding="utf-8")
    articles, errors = scan_folder(tmp_path)
    assert [a.doc_id for a in articles] == ["bai-tot.txt", "tin/bai.md"]
    assert errors == [("tin/rong.txt", "tệp rỗng")]


def test_paths_of_a_folder_and_of_a_single_file(tmp_path):
    for name in ("b.TXT", "a.docx", "c/d.html", "c/.e.pdf", "f.odt"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    assert [p.relative_to(tmp_path).as_posix() for p in iter_document_paths(tmp_path)] == [
        "a.docx",
        "b.TXT",
        "c/d.html",
    ]
    single = tmp_path / "bai.txt"
    single.write_text(ARTICLE_002, encoding="utf-8")
    assert iter_document_paths(single) == [single]
    assert load_document(single, single).doc_id == "bai.txt"
    assert ".md" in SUPPORTED_SUFFIXES


def test_one_doc_id_rule_for_the_store_the_loader_and_uploads(tmp_path):
    nested = tmp_path / "tin" / "bài mới.txt"
    assert doc_id_for(nested, tmp_path) == "tin/bài mới.txt"
    assert doc_id_for(tmp_path / "tin" / ".." / "bai.txt", tmp_path) == "bai.txt"
    assert doc_id_for(nested, nested) == "bài mới.txt"  # a single file ingested on its own
    assert doc_id_for(tmp_path.parent / "khac.txt", tmp_path) == "khac.txt"
    nested.parent.mkdir()
    nested.write_text(ARTICLE_002, encoding="utf-8")
    articles, _ = scan_folder(tmp_path)
    assert [a.doc_id for a in articles] == [load_document(nested, tmp_path).doc_id]
    assert articles[0].doc_id == "tin/bài mới.txt"


def test_missing_root_is_a_document_error(tmp_path):
    with pytest.raises(DocumentError) as error:
        iter_document_paths(tmp_path / "khong-co")
    assert str(error.value) == f"không tìm thấy tệp hoặc thư mục: {tmp_path / 'khong-co'}"


# --- nothing dropped: a label and one body line, or a single line, is a document ---------------

CAPTION_001 = (
    "Bộ phận tổng hợp (Văn phòng Tỉnh ủy) tập hợp số liệu, báo cáo phục vụ công tác lãnh đạo, "
    "điều hành của đơn vị."
)


def test_a_label_and_one_short_body_line_keep_the_line_as_body(tmp_path):
    path = tmp_path / "vimedaqa.txt"
    path.write_text(f"ViMedAQA v2\n{CAPTION_001}\n", encoding="utf-8")
    article = load_document(path, tmp_path)
    assert article.title == "ViMedAQA v2"
    assert _body_text(article) == CAPTION_001


def test_a_one_line_file_is_its_own_title_and_body(tmp_path):
    path = tmp_path / "mot-dong.txt"
    path.write_text(CAPTION_001, encoding="utf-8")
    article = load_document(path, tmp_path)
    assert (article.title, _body_text(article)) == (CAPTION_001, CAPTION_001)
    assert article.body == ((0, len(CAPTION_001)),)
