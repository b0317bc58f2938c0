"""rag.text on sentences copied from the seed corpus, plus properties on arbitrary text."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.text import (
    canonical,
    fold,
    folded_tokens,
    has_diacritics,
    nfc,
    normalize_tones,
    segment_words,
    split_sentences,
    word_tokens,
)

# Title of corpus/000: the old tone placement ("uỷ") next to the new one used elsewhere ("ủy").
TITLE_OLD = "Đảng uỷ Khối các cơ quan TP chủ động nâng cao chất lượng đảng viên"
TITLE_NEW = "Đảng ủy Khối các cơ quan TP chủ động nâng cao chất lượng đảng viên"


def test_nfc_composes_decomposed_vietnamese():
    decomposed = unicodedata.normalize("NFD", "Đảng uỷ")
    assert len(decomposed) == 9
    assert nfc(decomposed) == "Đảng uỷ"
    assert len(nfc(decomposed)) == 7


@pytest.mark.parametrize(
    ("variants", "expected"),
    [
        (("hoà", "hòa"), "hòa"),
        (("uỷ", "ủy"), "ủy"),
        (("thuỷ", "thủy"), "thủy"),
        (("toạ", "tọa"), "tọa"),
        (("khoẻ", "khỏe"), "khỏe"),
        (("Hoà", "Hòa"), "Hòa"),
        (("khoá", "khóa"), "khóa"),
        (("HOÀ", "HÒA"), "HÒA"),
        (("hoàng", "hòang"), "hoàng"),
        (("toán", "tóan"), "toán"),
        (("thuận",), "thuận"),
        (("quý", "qúy"), "quý"),
        (("giá", "gía"), "giá"),
        (("quốc",), "quốc"),
        (("giữ",), "giữ"),
        (("gìn",), "gìn"),
        (("người",), "người"),
        (("rượu",), "rượu"),
        (("ngoài", "ngòai"), "ngoài"),
        (("khuỷu",), "khuỷu"),
        (("huỳnh",), "huỳnh"),
        (("thuở",), "thuở"),
    ],
)
def test_normalize_tones_puts_the_mark_on_the_traditional_vowel(variants, expected):
    assert [normalize_tones(v) for v in variants] == [expected] * len(variants)


def test_normalize_tones_on_a_corpus_sentence_changes_only_the_tone_position():
    sentence = "Ban Chỉ đạo Chương trình số 06-Ctr/ĐUK (khoá XIII) của Đảng uỷ Khối các cơ quan TP"
    assert normalize_tones(sentence) == (
        "Ban Chỉ đạo Chương trình số 06-Ctr/ĐUK (khóa XIII) của Đảng ủy Khối các cơ quan TP"
    )


def test_normalize_tones_leaves_other_text_alone():
    text = "café où naïve Zalo COVID-19 1.183,7 triệu USD 13,5% «Ủ» 22/1/2021"
    assert normalize_tones(text) == text


def test_normalize_tones_composes_decomposed_input():
    assert normalize_tones(unicodedata.normalize("NFD", "Đảng uỷ")) == "Đảng ủy"


def test_canonical_makes_old_and_new_spellings_equal():
    assert canonical(TITLE_OLD) == canonical(TITLE_NEW)
    assert canonical("Đảng uỷ Khối") == "đảng ủy khối"


def test_fold_removes_every_diacritic_and_keeps_case():
    assert fold("Bí thư Đảng uỷ Khối các cơ quan TP Hà Nội") == (
        "Bi thu Dang uy Khoi cac co quan TP Ha Noi"
    )
    assert fold(unicodedata.normalize("NFD", "Ủy ban")) == "Uy ban"
    assert len(fold(TITLE_OLD)) == len(TITLE_OLD)


def test_has_diacritics():
    assert has_diacritics("Đảng ủy") is True
    assert has_diacritics("đ") is True
    assert has_diacritics("Dang uy 06-CTr/DUK") is False


def test_word_tokens_keep_codes_and_numbers_whole_and_add_their_parts():
    sentence = (
        "Chương trình số 06-Ctr/ĐUK (khoá XIII), Kế hoạch số 51-KH/ĐUK, "
        "hơn 1.000 học viên, tăng 13,5%."
    )
    assert word_tokens(sentence) == [
        "chương", "trình", "số", "06-ctr/đuk", "06", "ctr", "đuk", "khóa", "xiii",
        "kế", "hoạch", "số", "51-kh/đuk", "51", "kh", "đuk",
        "hơn", "1.000", "1", "000", "học", "viên", "tăng", "13,5", "13", "5",
    ]  # fmt: skip


def test_word_tokens_drop_punctuation_and_trailing_dots():
    assert word_tokens("“Kỷ cương, trách nhiệm, hành động, sáng tạo và phát triển”.") == [
        "kỷ", "cương", "trách", "nhiệm", "hành", "động", "sáng", "tạo", "và", "phát", "triển",
    ]  # fmt: skip
    assert word_tokens("Ảnh: N.ĐOAN") == ["ảnh", "n.đoan", "n", "đoan"]


def test_folded_tokens_match_a_question_typed_without_accents():
    assert folded_tokens("Bí thư Đảng uỷ") == ["bi", "thu", "dang", "uy"]
    assert folded_tokens("Bi thu Dang uy la ai") == folded_tokens("Bí thư Đảng ủy là ai")
    assert folded_tokens("Chương trình 06-Ctr/ĐUK") == [
        "chuong", "trinh", "06-ctr/duk", "06", "ctr", "duk",
    ]  # fmt: skip


def test_segment_words_joins_the_syllables_of_a_word():
    assert segment_words("Bí thư Đảng uỷ Khối các cơ quan thành phố Hà Nội") == [
        "bí_thư", "đảng_ủy", "khối", "các", "cơ_quan", "thành_phố", "hà_nội",
    ]  # fmt: skip


def test_segment_words_is_the_same_for_both_tone_placements():
    assert segment_words(TITLE_OLD) == segment_words(TITLE_NEW)


def test_segment_words_splits_codes_into_their_parts():
    # pyvi cuts a code at every "-" and "/", so the parts survive while the whole code does not.
    assert segment_words("Chương trình số 06-Ctr/ĐUK (khoá XIII) của Đảng ủy Khối.") == [
        "chương_trình", "số", "06", "ctr", "đuk", "khóa", "xiii", "của", "đảng_ủy", "khối",
    ]  # fmt: skip


def test_importing_rag_text_does_not_load_pyvi():
    code = "import sys, rag.text; print('pyvi' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text)]


def test_split_sentences_on_a_corpus_paragraph():
    # corpus/004, paragraph 3: "1.000" and "Đảng…)" followed by lowercase must not end a sentence.
    paragraph = (
        "Cấp ủy, tổ chức đảng trong toàn Đảng bộ Khối Cơ quan và Doanh nghiệp tỉnh đã tập trung "
        "lãnh đạo, chỉ đạo thực hiện tốt công tác giáo dục chính trị tư tưởng, xây dựng đội ngũ "
        "cán bộ, đảng viên; từng bước nâng cao năng lực lãnh đạo và sức chiến đấu của tổ chức cơ "
        "sở đảng, nâng cao chất lượng sinh hoạt chi bộ; đề cao ý thức tự phê bình và phê bình. "
        "Ban Thường vụ Đảng ủy Khối chú trọng công tác đào tạo, bồi dưỡng nâng cao trình độ lý "
        "luận chính trị và bồi dưỡng nghiệp vụ công tác xây dựng Đảng. Từ năm 2017 đến nay đã tổ "
        "chức 13 lớp trung cấp chính trị với hơn 1.000 học viên tham dự; mở nhiều lớp bồi dưỡng "
        "lý luận chính trị (bồi dưỡng đối tượng Đảng; bồi dưỡng đảng viên mới; bồi dưỡng nghiệp "
        "vụ công tác xây dựng Đảng…) cho hàng trăm lượt người tham gia."
    )
    first, second, third = paragraph.split(". ")
    assert sentences(paragraph) == [first + ".", second + ".", third]


def test_split_sentences_after_an_ellipsis_before_a_capital():
    text = (
        "Phân công các đồng chí ủy viên Ban Chấp hành Đảng bộ Khối theo dõi, phụ trách các tổ "
        "chức cơ sở Đảng để nắm bắt tình hình, kịp thời giúp đỡ các tổ chức cơ sở Đảng tháo gỡ "
        "khó khăn, vướng mắc trong công tác xây dựng Đảng… Nhờ đó các tổ chức trong hệ thống "
        "chính trị tiếp tục được củng cố. Đảng bộ Khối kết nạp từ 300 đảng viên trở lên... "
        "Bên cạnh đó, Đảng ủy Khối tăng cường hoạt động trên lĩnh vực kiểm tra, giám sát."
    )
    assert sentences(text) == [
        "Phân công các đồng chí ủy viên Ban Chấp hành Đảng bộ Khối theo dõi, phụ trách các tổ "
        "chức cơ sở Đảng để nắm bắt tình hình, kịp thời giúp đỡ các tổ chức cơ sở Đảng tháo gỡ "
        "khó khăn, vướng mắc trong công tác xây dựng Đảng…",
        "Nhờ đó các tổ chức trong hệ thống chính trị tiếp tục được củng cố.",
        "Đảng bộ Khối kết nạp từ 300 đảng viên trở lên...",
        "Bên cạnh đó, Đảng ủy Khối tăng cường hoạt động trên lĩnh vực kiểm tra, giám sát.",
    ]


def test_split_sentences_keeps_abbreviations_numbers_and_codes_inside():
    text = (
        "Bí thư Đảng ủy Khối các cơ quan TP. Hà Nội Lê Minh Đức chủ trì Hội nghị sơ kết Chương "
        "trình số 06-Ctr/ĐUK tại Q. Ba Đình. Từ năm 2017 đến nay đã tổ chức 13 lớp trung cấp "
        "chính trị với hơn 1.000 học viên tham dự, do PGS. TS. Nguyễn Văn A. Đoan và ThS. Lê B "
        "giảng dạy. So với cùng kỳ năm trước, giá trị sản xuất công nghiệp đánh giá tăng 13,5%. "
        "Kim ngạch nhập khẩu đạt 1.183,7 triệu USD."
    )
    assert sentences(text) == [
        "Bí thư Đảng ủy Khối các cơ quan TP. Hà Nội Lê Minh Đức chủ trì Hội nghị sơ kết Chương "
        "trình số 06-Ctr/ĐUK tại Q. Ba Đình.",
        "Từ năm 2017 đến nay đã tổ chức 13 lớp trung cấp chính trị với hơn 1.000 học viên tham "
        "dự, do PGS. TS. Nguyễn Văn A. Đoan và ThS. Lê B giảng dạy.",
        "So với cùng kỳ năm trước, giá trị sản xuất công nghiệp đánh giá tăng 13,5%.",
        "Kim ngạch nhập khẩu đạt 1.183,7 triệu USD.",
    ]


def test_split_sentences_ends_at_line_breaks_and_keeps_a_photo_credit_whole():
    # corpus/002: a caption repeated on two lines, each ending with the credit "Ảnh: N.ĐOAN".
    caption = (
        "Đại hội đại biểu Đảng bộ Khối các cơ quan tỉnh nhiệm kỳ 2020 - 2025 đã nghiêm túc phân "
        "tích, đề ra giải pháp thực hiện hiệu quả chỉ tiêu đại hội đề ra."
    )
    text = f"SONG GIANG |\n\n{caption} Ảnh: N.ĐOAN\r\n{caption} Ảnh: N.ĐOAN\n\nNhìn nhận hạn chế"
    assert sentences(text) == [
        "SONG GIANG |",
        caption,
        "Ảnh: N.ĐOAN",
        caption,
        "Ảnh: N.ĐOAN",
        "Nhìn nhận hạn chế",
    ]


def test_split_sentences_after_closing_quote_and_before_opening_quote():
    text = (
        "Chủ đề công tác năm 2021 là “Kỷ cương, trách nhiệm, hành động, sáng tạo và phát triển.” "
        "“Với tinh thần dân chủ, trách nhiệm, công tâm, khách quan.” - ông Quảng nói. Vì sao? "
        "Bởi vì đó là yêu cầu!"
    )
    assert sentences(text) == [
        "Chủ đề công tác năm 2021 là “Kỷ cương, trách nhiệm, hành động, sáng tạo và phát triển.”",
        "“Với tinh thần dân chủ, trách nhiệm, công tâm, khách quan.” - ông Quảng nói.",
        "Vì sao?",
        "Bởi vì đó là yêu cầu!",
    ]


def test_split_sentences_does_not_split_before_lowercase_or_list_numbers():
    text = "1. Nâng cao chất lượng tham mưu. II. Tiếp tục đổi mới... và sáng tạo. v.v. Hết"
    assert sentences(text) == [
        "1. Nâng cao chất lượng tham mưu.",
        "II. Tiếp tục đổi mới... và sáng tạo. v.v. Hết",
    ]


def test_split_sentences_offsets_point_into_the_original_text():
    decomposed = unicodedata.normalize("NFD", "  Đảng uỷ họp.  Hội nghị kết thúc.  ")
    assert split_sentences(decomposed) == [(2, 17), (19, 43)]
    assert sentences(decomposed) == [
        unicodedata.normalize("NFD", "Đảng uỷ họp."),
        unicodedata.normalize("NFD", "Hội nghị kết thúc."),
    ]
    assert split_sentences("") == []
    assert split_sentences(" \n\t ") == []


def test_split_sentences_on_the_whole_seed_corpus_loses_nothing(seed_corpus):
    for path in sorted(seed_corpus.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        spans = split_sentences(text)
        covered = "".join(text[start:end] for start, end in spans)
        assert "".join(covered.split()) == "".join(text.split())
        assert all("\n" not in text[s:e] for s, e in spans)


VIETNAMESE = "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđ"
ALPHABET = (
    VIETNAMESE
    + VIETNAMESE.upper()
    + "bcdghklmnpqrstvx"
    + "0123456789 .,!?…-/%“”\"'()«»:;\n\r\t\u00a0"
    + "\u0300\u0301\u0303\u0309\u0323\u0302\u0306\u031b"
)
TEXT = st.one_of(st.text(), st.text(alphabet=ALPHABET))


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_normalize_tones_is_idempotent_and_length_preserving(text):
    once = normalize_tones(text)
    assert len(once) == len(nfc(text))
    assert nfc(once) == once
    assert normalize_tones(once) == once
    assert fold(once) == fold(text)


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_fold_never_raises_and_keeps_length(text):
    assert len(fold(text)) == len(nfc(text))


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_split_sentences_never_loses_a_character(text):
    spans = split_sentences(text)
    covered = "".join(text[start:end] for start, end in spans)
    assert [ch for ch in covered if not ch.isspace()] == [ch for ch in text if not ch.isspace()]
    assert all(start < end for start, end in spans)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in pairwise(spans))
    for start, end in spans:
        assert not text[start].isspace() and not text[end - 1].isspace()


def test_folding_drops_a_tone_mark_that_composes_with_nothing():
    # "À" followed by a second grave accent: NFC keeps the extra mark, which would compose with
    # the folded "A" on the next NFC had folding kept it (hypothesis found this).
    assert fold("À\u0300") == "A\u034f"
    assert fold(fold("Hà\u0300 Nội")) == fold("Hà\u0300 Nội") == "Ha\u034f Noi"
    assert folded_tokens("Hà\u0300 Nội") == ["ha", "noi"]
