"""Routing of a message before retrieval: small talk, the collection, summaries, comparisons,
another language, or a factoid question; with and without diacritics."""

from __future__ import annotations

import pytest

from rag.intents import (
    COLLECTION,
    COMPARISON,
    FACTOID,
    GREETING,
    HELP,
    SUMMARY,
    THANKS,
    Intent,
    LanguageScore,
    language_score,
    route,
)
from rag.text import is_vietnamese_syllable

# Outlets and authors as the shipped articles' metadata holds them.
NAMES = ["Kinhtedothi", "ĐBP", "Thịnh An", "Xuân Thu", "SONG GIANG", "Thùy Dương", "Gia Kiệt"]


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("nghiêng", True),
        ("nghieng", True),  # typed without marks
        ("quý", True),
        ("đảng", True),
        ("the", True),  # also "thế"
        ("what", False),
        ("articles", False),
        ("covid", False),
        ("ok", False),
        ("hoàá", False),  # two tone marks
    ],
)
def test_vietnamese_syllable_spelling(word, expected):
    assert is_vietnamese_syllable(word) is expected


@pytest.mark.parametrize(
    ("text", "score"),
    [
        # Ai là [Trưởng Ban] chỉ đạo [Chương] trình số [Ctr/ĐUK]: names and acronyms skipped.
        ("Ai là Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK?", LanguageScore(6, 0)),
        ("ai la truong ban chi dao chuong trinh", LanguageScore(8, 0)),
        # "to" (tổ) and "in" tell nothing without marks; names after the first word are skipped.
        ("to chuc co so dang in o dau", LanguageScore(6, 0)),
        ("Who chaired the conference on February 17?", LanguageScore(0, 3)),
        ("How many articles are there?", LanguageScore(0, 5)),
        ("Covid-19 ảnh hưởng thế nào?", LanguageScore(4, 1)),
    ],
)
def test_language_score_counts_syllables_against_other_words(text, score):
    assert language_score(text) == score


def test_language_decision_is_the_majority_of_words_that_tell():
    assert language_score("What is Đảng ủy Khối?").is_vietnamese is False  # what, is vs ủy
    assert language_score("ok cảm ơn").is_vietnamese is True
    assert LanguageScore(0, 0).is_vietnamese is True


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("Xin chào", Intent(GREETING)),
        ("xin chao ban", Intent(GREETING)),
        ("Chào bạn nhé!", Intent(GREETING)),
        ("Hello", Intent(GREETING, foreign=True)),
        ("Bạn giúp gì được?", Intent(HELP)),
        ("ban giup gi duoc", Intent(HELP)),
        ("Bạn có thể làm gì?", Intent(HELP)),
        ("Tôi có thể hỏi những gì?", Intent(HELP)),
        ("Cảm ơn", Intent(THANKS)),
        ("cam on ban nhieu", Intent(THANKS)),
        ("Thanks!", Intent(THANKS, foreign=True)),
    ],
)
def test_small_talk(message, intent):
    assert route(message, NAMES) == intent


def test_a_greeting_before_a_question_is_not_small_talk():
    message = "Chào bạn, ai là Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK?"
    assert route(message, NAMES) == Intent(FACTOID, topic=message)


@pytest.mark.parametrize(
    ("message", "ask", "topic"),
    [
        ("Có bao nhiêu bài viết?", "count", ""),
        ("co bao nhieu bai viet", "count", ""),
        ("Số lượng tài liệu trong kho là bao nhiêu?", "count", ""),
        ("Có bao nhiêu bài viết đăng năm 2022?", "count", ""),
        ("Bài viết nào của Kinhtedothi?", "list", ""),
        ("bai viet nao cua Kinhtedothi", "list", ""),
        ("Bài nào đăng ngày 7/3/2022?", "list", ""),
        ("Bài nào do Thùy Dương viết?", "list", ""),
        ("Các bài viết nói về gì?", "list", ""),
        ("Ai viết bài Nâng cao chất lượng tham mưu?", "author", "nâng cao chất lượng tham mưu"),
        ("ai viet bai Nang cao chat luong tham muu", "author", "nang cao chat luong tham muu"),
        (
            "Bài Nâng cao chất lượng tham mưu đăng trên báo nào?",
            "outlet",
            "nâng cao chất lượng tham mưu",
        ),
        ("Bài viết về hội nghị kiểm điểm được đăng ngày nào?", "date", "hội nghị kiểm điểm"),
        ("bai viet ve hoi nghi kiem diem duoc dang ngay nao", "date", "hoi nghi kiem diem"),
    ],
)
def test_questions_about_the_collection(message, ask, topic):
    assert route(message, NAMES) == Intent(COLLECTION, ask=ask, topic=topic)


@pytest.mark.parametrize(
    ("message", "topic"),
    [
        ("Tóm tắt bài viết", ""),
        ("tom tat bai viet", ""),
        ("Tóm tắt bài Nâng cao chất lượng tham mưu", "nâng cao chất lượng tham mưu"),
        (
            "Nội dung chính của bài Nâng cao chất lượng tham mưu là gì?",
            "nâng cao chất lượng tham mưu",
        ),
        # The outlet is the collection's own name: the summarised article is found by it.
        ("Bài viết của Kinhtedothi nói gì?", ""),
        ("bai viet cua Kinhtedothi noi ve nhung gi", ""),
        ("Bài viết về hội nghị kiểm điểm nói gì?", "hội nghị kiểm điểm"),
    ],
)
def test_summaries(message, topic):
    assert route(message, NAMES) == Intent(SUMMARY, topic=topic)


@pytest.mark.parametrize(
    ("message", "topic"),
    [
        ("So sánh Lê Minh Đức và Bùi Võ Quảng", "Lê Minh Đức và Bùi Võ Quảng"),
        ("so sanh Le Minh Duc va Bui Vo Quang", "Le Minh Duc va Bui Vo Quang"),
        (
            "Bí thư Đảng ủy Khối trong các bài viết khác nhau thế nào?",
            "Bí thư Đảng ủy Khối trong các bài viết",
        ),
        ("Hai bài có gì khác nhau?", "Hai bài nhau"),
    ],
)
def test_comparisons_keep_the_compared_words_as_typed(message, topic):
    assert route(message, NAMES) == Intent(COMPARISON, topic=topic)


@pytest.mark.parametrize(
    "message",
    [
        # Other domains (XQuAD-vi) whose words look like the phrases above.
        "Peyton Manning đã đưa bao nhiêu đội khác nhau đến Super Bowl?",
        "Bài hát Fog on the Tyne được phát hành vào năm nào?",
        "Ai đã viết bài thơ “Cái mặt nạ của Tình trạng vô chính phủ”?",
        "Tác giả nổi tiếng nào đã sử dụng sự tương đồng trong bài viết của mình?",
        "Năm 1785, James Hutton đã trình bày bài viết gì cho Hiệp hội Hoàng gia Edinburgh?",
        "Bản tóm tắt WG I cho biết con người đang làm gì đối với khí nhà kính?",
        # Content questions over the shipped articles.
        "Tham mưu cho TP ban hành bao nhiêu văn bản QPPL?",
        "Rút ra bài học kinh nghiệm gì?",
        "Ông Quảng nói gì về giai đoạn mới?",
    ],
)
def test_factoid_questions_stay_factoid(message):
    assert route(message, NAMES) == Intent(FACTOID, topic=message)


@pytest.mark.parametrize(
    "message",
    ["Who chaired the conference on February 17?", "What did Le Minh Duc say about party members?"],
)
def test_a_question_in_english_is_a_foreign_factoid(message):
    assert route(message, NAMES) == Intent(FACTOID, topic=message, foreign=True)


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("How many articles are there?", Intent(COLLECTION, ask="count", foreign=True)),
        ("Which articles are from Kinhtedothi?", Intent(COLLECTION, ask="list", foreign=True)),
        ("Summarize the article from Kinhtedothi", Intent(SUMMARY, foreign=True)),
        ("What is the article about?", Intent(SUMMARY, foreign=True)),
        (
            "What is the difference between Le Minh Duc and Bui Vo Quang?",
            Intent(COMPARISON, topic="le minh duc and bui vo quang", foreign=True),
        ),
        (
            "Who wrote the article about the review conference?",
            Intent(COLLECTION, ask="author", topic="review conference", foreign=True),
        ),
    ],
)
def test_the_same_kinds_asked_in_english(message, intent):
    assert route(message, NAMES) == intent


def test_names_come_from_the_caller_not_from_the_code():
    # Without the collection's names, an outlet is a content word: no longer a list question.
    assert route("Bài viết nào của Kinhtedothi?", []) == Intent(
        FACTOID, topic="Bài viết nào của Kinhtedothi?"
    )
