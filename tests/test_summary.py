"""Summaries (central, non-redundant sentences in article order) and comparisons (one line per
document or entity), on the shipped articles; every line a cited slice of the original text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.chunking import chunk_article
from rag.documents import load_document
from rag.sentences import Sentence
from rag.summary import (
    MAX_WORDS,
    MIN_WORDS,
    _caption,
    _once,
    _stands_alone,
    central_sentences,
    compare,
    compared_entities,
    document_sentences,
    idf_vectors,
    summarize,
    textrank,
)
from rag.types import Hit

SEED = Path(__file__).resolve().parent.parent / "corpus"
KINHTEDOTHI = "000_cc43d066e58669a5.txt"
DOANH_NGHIEP = "001_de17a9f0785143ac.txt"
THAM_MUU = "002_4b3c1fe148501639.txt"
DIEN_BIEN = "004_aa61c7b126e7bd72.txt"


@pytest.fixture(scope="module")
def passages() -> dict[str, list]:
    return {p.name: chunk_article(load_document(p, SEED)) for p in sorted(SEED.glob("*.txt"))}


def test_textrank_ranks_the_sentence_the_others_resemble_first():
    similarity = np.array([[1.0, 0.5, 0.5], [0.5, 1.0, 0.0], [0.5, 0.0, 1.0]])
    scores = textrank(similarity)
    assert scores.sum() == pytest.approx(1.0)
    assert scores.argmax() == 0
    assert scores[1] == pytest.approx(scores[2])


def test_summary_of_one_article_is_three_central_sentences_in_article_order(passages):
    """Three statements that stand alone: "Đó là quyết tâm …" (the article's second sentence,
    which leans on its first) and "Đồng thời chỉ rõ …" were picked before the summary asked
    that each line stand on its own."""
    answer = summarize([passages[THAM_MUU]])
    assert answer.text == (
        "Tóm tắt «Nâng cao chất lượng tham mưu»:\n"
        "- Đại hội đại biểu Đảng bộ Khối các cơ quan tỉnh nhiệm kỳ 2020 - 2025 đã nghiêm túc "
        "phân tích, đề ra giải pháp thực hiện hiệu quả chỉ tiêu đại hội đề ra. [1]\n"
        "- Những kết quả đạt được của Đảng bộ Khối ở nhiệm kỳ 2015 - 2020 đã đóng góp quan "
        "trọng vào nhiệm vụ phát triển kinh tế - xã hội, giữ vững quốc phòng, an ninh, xây dựng "
        "Đảng và hệ thống chính trị vững mạnh trên địa bàn tỉnh. [2]\n"
        "- Tổ chức tập huấn nghiệp vụ công tác xây dựng Đảng theo chuyên đề cho cấp ủy cơ sở, "
        "nhất là những nơi vừa bố trí nhân sự mới. [3]"
    )
    text = (SEED / THAM_MUU).read_text("utf-8")
    assert [(c.start, c.end) for c in answer.citations] == [(275, 426), (623, 845), (3336, 3460)]
    assert all(text[c.start : c.end] == c.quote for c in answer.citations)
    assert answer.abstained is False


@pytest.mark.parametrize(
    ("sentence", "alone"),
    [
        ("Đó là quyết tâm của Đảng bộ Khối giai đoạn 2020 - 2025.", False),
        ("Chính vì vậy, Đảng bộ Khối luôn chú trọng nâng cao năng lực lãnh đạo.", False),
        (
            "Bên cạnh đó, làm tốt công tác đoàn kết nội bộ, thực hiện tốt cải cách hành chính...",
            False,
        ),
        ("Ben canh do, lam tot cong tac doan ket noi bo.", False),
        ("Đảng bộ Khối đã kết nạp 368 đảng viên trong năm 2020.", True),
        ("Song song với đó là công tác kiểm tra.", True),  # "Song song" is not "Song,"
    ],
)
def test_a_summary_line_must_stand_on_its_own(sentence, alone):
    s = Sentence(None, 0, len(sentence), sentence)
    assert _stands_alone(s, [s]) is alone


def test_summary_passes_over_a_repeated_caption_for_the_lead(passages):
    sentences = document_sentences(passages[KINHTEDOTHI])
    pool = [s for s in sentences if MIN_WORDS <= len(s.text.split()) <= MAX_WORDS]
    vectors = idf_vectors([s.text for s in pool])
    by_centrality = np.argsort(-textrank(np.clip(vectors @ vectors.T, 0, 1)))
    first, second = (pool[i].text for i in by_centrality[:2])
    # By plain TextRank the two most central sentences are the photo's caption, printed twice
    # with another verb ...
    repeat = "Bí thư Đảng uỷ Khối các cơ quan TP Hà Nội Lê Minh Đức, Trưởng Ban chỉ đạo Chương"
    assert first.startswith(repeat) and second.startswith(repeat)
    # ... the summary takes neither (a near-repeat inside one article is a caption), and the
    # position prior brings the article's lead first.
    chosen = [s.text[:60] for s in central_sentences(sentences, 5)]
    assert chosen == [
        "Kinhtedothi-Sáng 17/2, Ban Chỉ đạo Chương trình số 06-Ctr/ĐU",
        "Các nội dung, chỉ tiêu trong Chương trình đã được các cấp ủy",
        "Công tác cải cách hành chính được thực hiện đảm bảo theo kế ",
        "Ban Thường vụ Đảng ủy Khối đã ban hành Quyết định về kiện to",
        "Thảo luận tại Hội nghị, các thành viên Ban chỉ đạo Chương tr",
    ]


def test_summary_of_several_articles_shares_five_sentences_and_names_each(passages):
    answer = summarize([passages[THAM_MUU], passages[DIEN_BIEN]])
    lines = answer.text.splitlines()
    assert lines[0] == "**«Nâng cao chất lượng tham mưu»**:"
    assert lines[3] == (
        "**«Nâng cao năng lực lãnh đạo, sức chiến đấu của tổ chức cơ sở đảng» (ĐBP, 07/03/2022)**:"
    )
    assert [c.doc_id for c in answer.citations] == [THAM_MUU, THAM_MUU, DIEN_BIEN, DIEN_BIEN]


def _hits(passages, doc_ids):
    return [Hit(passages[d][0], 1.0, rank) for rank, d in enumerate(doc_ids, 1)]


def test_comparison_gives_each_document_its_own_line(passages):
    hits = _hits(passages, [THAM_MUU, DOANH_NGHIEP, KINHTEDOTHI, DIEN_BIEN])
    answer = compare("Bí thư Đảng ủy Khối", hits, passages)
    lines = answer.text.splitlines()
    # Each article names the secretary of its own province's bloc; a run-on sentence is cut
    # to the clause that says it.
    assert [line.split("»", 1)[1].split(": ", 1)[1] for line in lines] == [
        "Ông Bùi Võ Quảng - Bí thư Đảng ủy Khối các cơ quan tỉnh khẳng định, thẳng thắn nhìn "
        "nhận các mặt còn hạn chế, khuyết điểm, vừa qua, tại Đại hội đại biểu Đảng bộ Khối lần "
        "thứ IX (nhiệm kỳ 2020 - 2025) đã nghiêm túc phân tích, đánh giá sát đúng tình hình các "
        "mặt công tác trong nhiệm kỳ trước. [1]",
        "Đồng chí Vũ Hữu Thi, TUV, Bí thư Đảng ủy Khối các Cơ quan và Doanh nghiệp tỉnh cho biết"
        " [2]",
        "Bí thư Đảng uỷ Khối các cơ quan TP Hà Nội Lê Minh Đức, Trưởng Ban chỉ đạo Chương trình "
        "số 06-Ctr/ĐUK chủ trì Hội nghị. [3]",
        "Ông Lỳ Lỳ Xá, Bí thư Đảng ủy Khối Cơ quan và Doanh nghiệp tỉnh cho biết [4]",
    ]
    for c in answer.citations:
        assert (SEED / c.doc_id).read_text("utf-8")[c.start : c.end] == c.quote
    assert lines[2].startswith(
        "- «Đảng uỷ Khối các cơ quan TP chủ động nâng cao chất lượng đảng viên» "
        "(Kinhtedothi, 17/02/2023): "
    )
    assert [c.doc_id for c in answer.citations] == [THAM_MUU, DOANH_NGHIEP, KINHTEDOTHI, DIEN_BIEN]
    assert [line[-3:] for line in lines] == ["[1]", "[2]", "[3]", "[4]"]


@pytest.mark.parametrize("topic", ["Lê Minh Đức và Bùi Võ Quảng", "le minh duc va bui vo quang"])
def test_comparison_of_named_entities_gives_each_its_sentence(passages, topic):
    hits = _hits(passages, [THAM_MUU, KINHTEDOTHI])
    answer = compare(topic, hits, passages)
    left, right = topic.split(" và ") if " và " in topic else topic.split(" va ")
    assert answer.text.splitlines() == [
        f"- {left}: Bí thư Đảng uỷ Khối các cơ quan TP Hà Nội Lê Minh Đức, Trưởng Ban chỉ đạo "
        "Chương trình số 06-Ctr/ĐUK chủ trì Hội nghị. [1]",
        f"- {right}: Ông Bùi Võ Quảng - Bí thư Đảng ủy Khối các cơ quan tỉnh khẳng định, thẳng "
        "thắn nhìn nhận các mặt còn hạn chế, khuyết điểm, vừa qua, tại Đại hội đại biểu Đảng "
        "bộ Khối lần thứ IX (nhiệm kỳ 2020 - 2025) đã nghiêm túc phân tích, đánh giá sát đúng "
        "tình hình các mặt công tác trong nhiệm kỳ trước. [2]",
    ]


def test_an_entity_is_found_only_where_all_its_words_are(passages):
    hits = _hits(passages, [THAM_MUU, KINHTEDOTHI])
    answer = compare("Lê Minh Đức và Nguyễn Văn Bảy", hits, passages)
    # "Nguyễn Minh Đức" shares two words with one and one with the other: neither is them.
    assert answer.text.splitlines()[1] == "- Nguyễn Văn Bảy: không tìm thấy trong tài liệu."
    assert len(answer.citations) == 1


def test_a_long_document_of_repeated_sentences_gets_five_different_ones(passages):
    sentences = document_sentences(passages[THAM_MUU]) * 60  # about 1,000 statements, sampled
    chosen = central_sentences(sentences)
    assert len(chosen) == 5
    assert len({s.text for s in chosen}) == 5


@pytest.mark.parametrize(
    ("topic", "split"),
    [
        ("Lê Minh Đức và Bùi Võ Quảng", ("", ["Lê Minh Đức", "Bùi Võ Quảng"])),
        ("A, B và C", ("", ["A", "B", "C"])),
        # "và" inside a name is not a separator: only the last one is, and the right-hand
        # entity's length says where the left one starts.
        (
            "kết nạp đảng viên của Đảng bộ Khối các Cơ quan và Doanh nghiệp tỉnh năm 2020 và năm 2021",
            (
                "kết nạp đảng viên của Đảng bộ Khối các Cơ quan và Doanh nghiệp tỉnh",
                ["năm 2020", "năm 2021"],
            ),
        ),
        ("Bí thư Đảng ủy Khối trong các bài viết", ("Bí thư Đảng ủy Khối trong các bài viết", [])),
    ],
)
def test_compared_entities(topic, split):
    assert compared_entities(topic) == split


@pytest.mark.parametrize(
    "topic",
    [
        "kết quả kết nạp đảng viên của Đảng bộ Khối các Cơ quan và Doanh nghiệp tỉnh năm 2020 và "
        "năm 2021",
        "ket qua ket nap dang vien cua Dang bo Khoi cac Co quan va Doanh nghiep tinh nam 2020 va "
        "nam 2021",
    ],
)
def test_comparison_of_two_years_quotes_what_each_says_of_the_context(passages, topic):
    answer = compare(topic, _hits(passages, [DOANH_NGHIEP]), passages)
    assert [line.split(": ", 1)[1] for line in answer.text.splitlines()] == [
        "thẩm định, quyết định kết nạp 368 đảng viên [1]",
        "trong đó đã tiến hành thẩm định, quyết định kết nạp 44 đảng viên [2]",
    ]


@pytest.mark.parametrize(
    "topic",
    [
        "Đảng ủy Khối các cơ quan TP Hà Nội và Đảng bộ Khối Cơ quan và Doanh nghiệp tỉnh",
        "Dang uy Khoi cac co quan TP Ha Noi va Dang bo Khoi Co quan va Doanh nghiep tinh",
    ],
)
def test_a_name_holding_va_is_one_side_and_no_sentence_is_quoted_twice(passages, topic):
    """ "Cơ quan và Doanh nghiệp" is written so in the articles: that "và" is part of a name, not
    the comparison's (before, the last "và" split one organisation into two sides, and both
    sides quoted one sentence)."""
    answer = compare(topic, _hits(passages, [KINHTEDOTHI, DIEN_BIEN, DOANH_NGHIEP]), passages)
    left, right = topic.split(" và ", 1) if " và " in topic else topic.split(" va ", 1)
    assert answer.text.splitlines() == [
        f"- {left}: Bí thư Đảng uỷ Khối các cơ quan TP Hà Nội Lê Minh Đức, Trưởng Ban chỉ đạo "
        "Chương trình số 06-Ctr/ĐUK chủ trì Hội nghị. [1]",
        f"- {right}: Chính vì vậy, Đảng bộ Khối Cơ quan và Doanh nghiệp tỉnh luôn chú trọng nâng "
        "cao năng lực lãnh đạo, sức chiến đấu của tổ chức cơ sở đảng và chất lượng đội ngũ cán "
        "bộ, đảng viên. [2]",
    ]
    assert [c.doc_id for c in answer.citations] == [KINHTEDOTHI, DIEN_BIEN]
    assert len({(c.doc_id, c.start) for c in answer.citations}) == 2


def test_a_short_paragraph_of_one_sentence_is_a_caption(passages):
    """ "Bộ phận tổng hợp (Văn phòng Tỉnh ủy) tập hợp số liệu …" stands alone under the lead as a
    photo's caption; a body sentence of the same article is not one."""
    sentences = document_sentences(passages[DOANH_NGHIEP])
    caption = next(s for s in sentences if s.text.startswith("Bộ phận tổng hợp"))
    body = next(s for s in sentences if s.text.startswith("Trong những tháng đầu năm 2021"))
    assert _caption(caption) is True
    assert _caption(body) is False
    chosen = central_sentences(sentences)
    assert caption not in chosen
    assert [s.text[:40] for s in chosen] == [
        "Đẩy mạnh thực hiện học tập và làm theo t",
        "Trong những tháng đầu năm 2021, Đảng bộ ",
        "Cấp ủy, tổ chức đảng trong các cơ quan, ",
    ]


def test_a_sentence_said_twice_keeps_its_first_place():
    said = ["Câu một nói về hội nghị.", "Câu hai nói về đảng viên.", "Câu một  nói về hội nghị."]
    sentences = [Sentence(None, i, i + 1, t) for i, t in enumerate(said)]
    assert [s.start for s in _once(sentences)] == [0, 1]
