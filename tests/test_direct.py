"""The direct answer's parts on real sentences of the shipped articles: what a question asks
(with and without diacritics), the span the model picks, the clause shown around it, and the
leave-article-out copies that measure abstention."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from eval.questions import Question
from eval.squad import left_out_copies
from rag.answer import question as parsed
from rag.answer.factoid import cosine_similarity, support
from rag.direct import best_span, tagged

REPO = Path(__file__).resolve().parent.parent
LOP_SHORT = "Từ năm 2017 đến nay đã tổ chức 0 lớp trung cấp chính trị."
# From corpus/004 (Điện Biên) and corpus/000 (Kinhtedothi).
LOP = (
    "Từ năm 2017 đến nay đã tổ chức 13 lớp trung cấp chính trị với hơn 1.000 học viên tham dự; "
    "mở nhiều lớp bồi dưỡng lý luận chính trị cho đảng viên mới, bồi dưỡng nghiệp vụ công tác "
    "đảng, công tác kiểm tra, giám sát cho cấp ủy viên cơ sở."
)
DUC = (
    "Bí thư Đảng uỷ Khối các cơ quan TP Hà Nội Lê Minh Đức, Trưởng Ban chỉ đạo Chương trình "
    "số 06-Ctr/ĐUK phát biểu tại Hội nghị."
)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Có bao nhiêu lớp trung cấp chính trị?", "number"),
        ("Co bao nhieu lop trung cap chinh tri?", "number"),
        ("Hội nghị diễn ra khi nào?", "date"),
        ("Hoi nghi dien ra khi nao?", "date"),
        ("Ai chủ trì Hội nghị?", "person"),
        ("Ai chu tri Hoi nghi?", "person"),
        ("Vì sao phải kiểm điểm?", "reason"),
        ("Vi sao phai kiem diem?", "reason"),
        ("Chương trình được thực hiện như thế nào?", "manner"),
        ("Chuong trinh duoc thuc hien nhu the nao?", "manner"),
        ("Đề án số 08 về nội dung gì?", "what"),
        ("De an so 08 ve noi dung gi?", "what"),
        ("Tóm lại thì sao", "other"),
    ],
)
def test_wh_kind_with_and_without_diacritics(question, kind):
    assert parsed.wh_kind(question) == kind


@pytest.mark.parametrize(
    ("question", "sentence", "span"),
    [
        ("Từ năm 2017 đã tổ chức bao nhiêu lớp trung cấp chính trị?", LOP, "13"),
        ("Tu nam 2017 da to chuc bao nhieu lop trung cap chinh tri?", LOP, "13"),
        ("Ai là Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK?", DUC, "Lê Minh Đức"),
        ("Ai la Truong Ban chi dao Chuong trinh so 06-Ctr/DUK?", DUC, "Lê Minh Đức"),
    ],
)
def test_span_extent(question, sentence, span):
    a, b, p = best_span(question, sentence)
    assert sentence[a:b] == span and 0 < p <= 1


def test_support_is_the_clause_grown_within_the_limit():
    at = LOP.index("13")
    a, b = support(LOP, (at, at + 2), 25)
    assert LOP[a:b] == (
        "Từ năm 2017 đến nay đã tổ chức 13 lớp trung cấp chính trị với hơn 1.000 học viên tham dự;"
    )
    assert support(DUC, (0, 3), 27) == (0, len(DUC))  # 27 words: within the limit, whole


def test_support_cuts_one_long_clause_around_the_span():
    clause = LOP.replace(";", " và")  # one clause of 47 words
    at = clause.index("13")
    a, b = support(clause, (at, at + 2), 10)
    assert clause[a:b] == "nay đã tổ chức 13 lớp trung cấp chính trị"


def test_left_out_copies_leave_out_every_paragraph_of_the_article():
    q = Question("q1", "Ai?", ("X",), ("003_001.txt",), type="squad", source="Bài 4")
    unanswerable = Question("q2", "Gì?", (), ("003_000.txt",))
    docs = ["002_000.txt", "003_000.txt", "003_001.txt", "004_000.txt"]
    (copy,) = left_out_copies([q, unanswerable], docs)
    assert copy.id == "q1/loo" and copy.question == "Ai?" and not copy.answerable
    assert copy.excluded == ("003_000.txt", "003_001.txt")
    assert copy.source == "leave-article-out"


@pytest.mark.parametrize(
    ("question", "left", "right"),
    [
        ("Từ năm 2017 đã tổ chức bao nhiêu lớp?", ("to", "chuc"), "lop"),
        ("Tu nam 2017 da to chuc bao nhieu lop?", ("to", "chuc"), "lop"),
        ("Ai chủ trì Hội nghị?", (), "chu"),
        ("Hội nghị diễn ra năm nào?", ("ra", "nam"), None),
        ("Hoi nghi dien ra nam nao?", ("ra", "nam"), None),
    ],
)
def test_the_slot_of_the_wh_word(question, left, right):
    asked = parsed.Question.parse(question)
    assert (asked.left, asked.right) == (left, right)


@pytest.mark.slow
def test_first_tagging_in_parallel_threads_does_not_crash(tmp_path):
    """The page answers chats in threads; underthesea loads its tagger on first use without a
    lock. A fresh process, so that the first use is the parallel one."""
    script = (
        "from concurrent.futures import ThreadPoolExecutor\n"
        "from rag.direct import tagged\n"
        "lines = [f'Từ năm 2017 đến nay đã tổ chức {i} lớp trung cấp chính trị.' for i in range(40)]\n"
        "with ThreadPoolExecutor(20) as pool:\n"
        "    tags = list(pool.map(tagged, lines))\n"
        "print(sum(len(t) for t in tags))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.split() == [str(40 * len(tagged(LOP_SHORT)))]


def test_cosine_embeds_each_sentence_once():
    """The answerer's question-sentence cosine keeps the sentences' vectors: the same retrieved
    sentences come back for many questions, and only the question is embedded again."""
    import numpy as np

    class Counting:
        def __init__(self):
            self.texts = []

        def embed_array(self, texts, is_query=False):
            self.texts += list(texts)
            return np.asarray([[1.0, float(len(t))] for t in texts]) / 100

    model = Counting()
    cosine = cosine_similarity(model, {})
    first = cosine("Ai?", [DUC, LOP, DUC])
    assert cosine("Ai?", [LOP, DUC]) == first[1:]
    assert model.texts == ["Ai?", DUC, LOP, "Ai?"]


def test_a_span_is_made_of_whole_written_tokens():
    # From corpus/000: a programme number written as one token with marks inside it.
    sentence = "Ban Chỉ đạo Chương trình số 06-Ctr/ĐUK đã tổ chức Hội nghị sơ kết với tỷ số 23-16."
    from rag.direct import spans

    found = {
        sentence[s.start : s.end]
        for s in spans(parsed.Question.parse("Hội nghị do ai tổ chức?"), sentence)
    }
    assert {"06-Ctr/ĐUK", "số 06-Ctr/ĐUK", "23-16", "tỷ số 23-16"} <= found
    assert not {"Ctr/ĐUK", "ĐUK", "Ctr", "06", "16", "23", "số 06"} & found
    for text in found:
        at = sentence.index(text)
        assert at == 0 or not sentence[at - 1].isalnum()
        end = at + len(text)
        assert end == len(sentence) or not sentence[end].isalnum()


def test_a_span_opening_with_the_words_before_the_wh_word_is_marked():
    from rag.direct import FEATURES, spans

    sentence = "Năm 2019, sân bay quốc tế Nội Bài là sân bay lớn nhất miền Bắc."
    head1, head2 = FEATURES.index("slot_head1"), FEATURES.index("slot_head2")
    asked = parsed.Question.parse("Sân bay nào lớn nhất miền Bắc?")
    found = {sentence[s.start : s.end]: s.features for s in spans(asked, sentence)}
    assert found["sân bay quốc tế Nội Bài"][head2] == 1.0
    assert found["sân bay quốc tế Nội Bài"][head1] == 0.0  # its last word before "nào" is "bay"
    assert found["quốc tế Nội Bài"][head2] == 0.0
    sentence = "Đội Thể Công đã giành chức vô địch bóng đá năm 1955."
    asked = parsed.Question.parse("Đội nào giành chức vô địch bóng đá năm 1955?")
    found = {sentence[s.start : s.end]: s.features for s in spans(asked, sentence)}
    assert found["Đội Thể Công"][head1] == 1.0
    assert found["Thể Công"][head1] == 0.0
