"""Why / how, list and yes/no answers (rag.answer.shaped) on the shipped articles: the kind read from the
question with and without diacritics, the clause, the items and the verdict as exact slices of
the original text, each cited."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answer.question import HOW, LIST, WHY, YES_NO, shape_of
from rag.answer.shaped import UNCLEAR, answer_shaped
from rag.chunking import chunk_article
from rag.documents import load_document
from rag.text import fold
from rag.types import Chunk, Hit

SEED = Path(__file__).resolve().parent.parent / "corpus"
KINHTEDOTHI = "000_cc43d066e58669a5.txt"
DOANH_NGHIEP = "001_de17a9f0785143ac.txt"
HA_NOI = "003_45ec861fa7425e3b.txt"


@pytest.fixture(scope="module")
def passages() -> dict[str, list]:
    return {p.name: chunk_article(load_document(p, SEED)) for p in sorted(SEED.glob("*.txt"))}


def _hits(passages, name: str) -> list[Hit]:
    return [Hit(c, 1.0, rank) for rank, c in enumerate(passages[name], 1)]


@pytest.mark.parametrize(
    ("question", "shape"),
    [
        ("Vì sao doanh nghiệp tăng trưởng chậm?", WHY),
        ("Tại sao cần nâng cao kỹ năng của chi bộ?", WHY),
        ("Kim ngạch giảm do đâu?", WHY),
        ("Lý do chọn lọc đảng viên mới là gì?", WHY),
        ("Việc phát triển đảng viên mới cần được thực hiện như thế nào?", HOW),
        ("Đảng ủy Khối nâng cao nhận thức bằng cách nào?", HOW),
        ("Làm thế nào để tháo gỡ khó khăn cho doanh nghiệp?", HOW),
        ("Đảng ủy Khối sẽ ban hành những nghị quyết chuyên đề nào?", LIST),
        ("Mặt hàng nhập khẩu chủ yếu gồm những gì?", LIST),
        ("Liệt kê các hạn chế của đảng bộ.", LIST),
        ("Kể tên các nghị quyết chuyên đề.", LIST),
        ("Doanh nghiệp có bị ảnh hưởng bởi đại dịch không?", YES_NO),
        ("Bà Tuyến là Ủy viên Trung ương Đảng, phải không?", YES_NO),
        ("Có phải Đảng bộ Khối hợp nhất năm 2020?", YES_NO),
        ("Kế hoạch đã được phê duyệt chưa?", YES_NO),
        # Factoids stay with the factoid answerer, "những năm nào" included.
        ("Ai là Bí thư Đảng ủy Khối?", None),
        ("Những năm nào kim ngạch xuất khẩu tăng?", None),
        ("Kim ngạch nhập khẩu đạt bao nhiêu?", None),
        ("Kể tên một nghị quyết chuyên đề.", None),  # one item asked: a factoid
    ],
)
def test_shape_is_read_from_the_question_with_and_without_diacritics(question, shape):
    assert shape_of(question) == shape
    assert shape_of(fold(question)) == shape


@pytest.mark.parametrize("fold_it", [False, True])
def test_why_answer_is_the_reason_clause_then_its_sentence(passages, fold_it):
    question = (
        "Tại sao cần nâng cao kỹ năng, trách nhiệm của chi bộ trong bồi dưỡng, rèn luyện đảng viên?"
    )
    answer = answer_shaped(fold(question) if fold_it else question, _hits(passages, KINHTEDOTHI))
    reason = "để nâng cao sức chiến đấu của Đảng là ý thức đảng viên"
    assert answer.short_answer == reason
    assert answer.text == (
        f"{reason} [1] — … yếu tố có ý nghĩa then chốt {reason}, các thành viên Ban chỉ đạo "
        "đề nghị cần nâng cao kỹ năng …"
    )
    (citation,) = answer.citations
    text = (SEED / KINHTEDOTHI).read_text("utf-8")
    assert text[citation.span[0] : citation.span[1]] == reason
    assert (citation.start, citation.end) == (5757, 6117)
    assert not answer.abstained


def test_how_answer_is_the_means_clause_cut_at_a_comma(passages):
    question = (
        "Đảng ủy Khối nâng cao nhận thức cho cán bộ, đảng viên, công nhân lao động bằng cách nào?"
    )
    answer = answer_shaped(question, _hits(passages, DOANH_NGHIEP))
    assert answer.short_answer == (
        "bằng cách tổ chức quán triệt, triển khai thực hiện Nghị quyết Đại hội Đảng toàn quốc "
        "lần thứ XIII"
    )
    assert answer.text.startswith(f"{answer.short_answer} [1] — … nâng cao nhận thức")


def test_a_why_question_whose_best_sentence_gives_no_reason_goes_to_the_factoid_answerer(
    passages,
):
    assert (
        answer_shaped("Vì sao Đảng bộ Khối nghiêm túc phân tích?", _hits(passages, DOANH_NGHIEP))
        is None
    )


@pytest.mark.parametrize("fold_it", [False, True])
def test_list_is_split_into_the_items_of_the_clause_that_answers(passages, fold_it):
    question = "Mặt hàng nhập khẩu chủ yếu gồm những gì?"
    answer = answer_shaped(fold(question) if fold_it else question, _hits(passages, DOANH_NGHIEP))
    # The sentence runs five statistics together with ";": only the clause about imports is
    # split, at its commas, after "là".
    assert answer.text == (
        "- nguyên phụ liệu dệt may [1]\n- da [2]\n- bông [3]\n- xơ [4]\n- sợi [5]\n"
        "- các mặt hàng liên quan [6]"
    )
    assert answer.short_answer is None
    text = (SEED / DOANH_NGHIEP).read_text("utf-8")
    assert [text[c.span[0] : c.span[1]] for c in answer.citations] == [
        "nguyên phụ liệu dệt may",
        "da",
        "bông",
        "xơ",
        "sợi",
        "các mặt hàng liên quan",
    ]


def test_list_split_at_semicolons_starts_after_the_colon(passages):
    question = "Trong nhiệm kỳ này Đảng ủy Khối sẽ ban hành những nghị quyết chuyên đề nào?"
    answer = answer_shaped(question, _hits(passages, DOANH_NGHIEP))
    assert answer.text == (
        "- Nghị quyết về tăng cường công tác chính trị tư tưởng trong tình hình mới [1]\n"
        "- Nghị quyết về nâng cao năng lực lãnh đạo, sức chiến đấu của tổ chức cơ sở đảng và "
        "chất lượng đảng viên [2]\n"
        "- Nghị quyết về lĩnh vực xây dựng văn hóa trong cơ quan, doanh nghiệp [3]"
    )
    assert [c.n for c in answer.citations] == [1, 2, 3]


@pytest.mark.parametrize("fold_it", [False, True])
def test_yes_no_answers_co_with_the_evidence_sentence(passages, fold_it):
    question = "Đồng chí Nguyễn Thị Tuyến có phải là Ủy viên Trung ương Đảng không?"
    answer = answer_shaped(fold(question) if fold_it else question, _hits(passages, HA_NOI))
    assert answer.text == (
        "Có. Đồng chí Nguyễn Thị Tuyến, Ủy viên Trung ương Đảng, Phó Bí thư Thường trực Thành "
        "ủy dự và chỉ đạo hội nghị. [1]"
    )
    assert answer.short_answer == "Có"
    assert (answer.citations[0].start, answer.citations[0].end) == (230, 337)


def test_yes_no_answers_khong_when_the_evidence_negates_it(passages):
    question = (
        "Ủy ban kiểm tra đảng ủy cơ sở có thực hiện nhiệm vụ kiểm tra, giám sát theo đúng kế "
        "hoạch không?"
    )
    answer = answer_shaped(question, _hits(passages, KINHTEDOTHI))
    assert answer.short_answer == "Không"
    assert answer.text == (
        "Không. Một số cấp ủy, ủy ban kiểm tra đảng ủy cơ sở chưa thực hiện nhiệm vụ kiểm tra, "
        "giám sát theo đúng kế hoạch đã đề ra … [1]"
    )


def test_yes_no_says_the_documents_do_not_say_with_the_closest_sentence(passages):
    answer = answer_shaped("Doanh nghiệp có được miễn thuế không?", _hits(passages, DOANH_NGHIEP))
    assert answer.abstained
    assert answer.short_answer is None
    assert answer.text == (
        f"{UNCLEAR} Câu gần nhất trong tài liệu: Hoạt động theo mô hình hợp nhất từ ngày "
        "1-6-2020, Đảng bộ Khối các Cơ quan và Doanh nghiệp tỉnh đã sớm kiện toàn tổ chức bộ "
        "máy, tập trung lãnh đạo … [1]"
    )
    assert (answer.citations[0].start, answer.citations[0].end) == (101, 389)


def test_weak_evidence_is_left_to_the_factoid_answerers_abstention(passages):
    # Not one word of the question is in the article: the factoid answerer's threshold decides.
    assert answer_shaped("Vì sao giá vàng thế giới tăng mạnh?", _hits(passages, HA_NOI)) is None
    assert answer_shaped("Giá vàng có tăng không?", _hits(passages, HA_NOI)) is None


def _inline(text: str) -> list[Hit]:
    return [Hit(Chunk("c0", "tin.txt", 0, text, 0, len(text), "Tin"), 1.0, 1)]


def test_commas_that_join_clauses_are_not_split_into_items():
    clauses = (
        "Đoàn công tác của tỉnh là những người đến thăm các xã vùng cao, và sau đó đoàn về "
        "làm việc với huyện, xã."
    )
    listed = "Các mặt hàng xuất khẩu chủ yếu là gạo, cà phê, hạt điều và hồ tiêu."
    assert answer_shaped("Đoàn công tác của tỉnh gồm những gì?", _inline(clauses)) is None
    answer = answer_shaped("Các mặt hàng xuất khẩu chủ yếu gồm những gì?", _inline(listed))
    assert answer.text == "- gạo [1]\n- cà phê [2]\n- hạt điều [3]\n- hồ tiêu [4]"


def test_yes_no_reads_a_sentence_with_the_one_before_it_that_names_its_subject(passages):
    """ "… dự và chỉ đạo hội nghị" says she attended the meeting the sentence before it names:
    the verdict is "Có" with both quoted (before, "not stated" quoted the sentence saying yes)."""
    answer = answer_shaped(
        "Bà Nguyễn Thị Tuyến có dự hội nghị kiểm điểm không?", _hits(passages, HA_NOI)
    )
    assert not answer.abstained and answer.short_answer == "Có"
    assert answer.text == (
        "Có. Sáng 25/12, Đảng ủy Khối các cơ quan Thành phố tổ chức Hội nghị kiểm điểm tập thể "
        "và cá nhân Ban Thường vụ Đảng ủy. [1] Đồng chí Nguyễn Thị Tuyến, Ủy viên Trung ương "
        "Đảng, Phó Bí thư Thường trực Thành ủy dự và chỉ đạo hội nghị. [2]"
    )
    text = (SEED / HA_NOI).read_text("utf-8")
    assert [text[c.start : c.end] for c in answer.citations] == [c.quote for c in answer.citations]
    folded = answer_shaped(
        fold("Bà Nguyễn Thị Tuyến có dự hội nghị kiểm điểm không?"), _hits(passages, HA_NOI)
    )
    assert folded.short_answer == "Có" and "Nguyễn Thị Tuyến" in folded.text


@pytest.mark.parametrize("typed", [True, False], ids=["diacritics", "folded"])
def test_yes_no_quotes_the_clause_its_verdict_rests_on(passages, typed):
    """The claim is "594 chi bộ", at the end of an 80-word sentence: the excerpt is that
    clause, not the sentence's opening words about another plan."""
    question = "Có phải Kế hoạch số 51-KH/ĐUK được triển khai tới 594 chi bộ?"
    answer = answer_shaped(question if typed else fold(question), _hits(passages, KINHTEDOTHI))
    assert answer.text == (
        "Có. … đất nước phồn vinh, hạnh phúc”, triển khai tới 64 tổ chức cơ sở đảng và 594 chi "
        "bộ trực thuộc đảng ủy cơ sở. [1]"
    )
