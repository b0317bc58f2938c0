"""The page's filters on their boundaries, through every path that applies them: a range keeps
the article dated on its first day and the one on its last, and drops the one a day before and
the one a day after (and the undated one), in lexical, dense (Chroma's `where`) and hybrid
search, in the collection's answers and in what the page parses from its two date boxes.

The articles are passages of the shipped ones (corpus/004, corpus/003) with their date lines
changed, so that each sits on or next to a boundary of the range 01/03/2022 - 31/03/2022.
"""

from __future__ import annotations

import re

import pytest

from app import create_app
from embeddings import load_embedder
from rag.assistant import Assistant
from rag.collection import Catalog
from rag.config import Settings
from rag.dates import date_range, display_date
from rag.errors import DateError
from rag.filters import columns
from rag.retrieval import Retriever
from rag.store import Store
from rag.types import Filters
from rag.ui import FilterError, filters_text, parse_filters

# corpus/004 (ĐBP), its date line set per copy.
DBP = """Chính trịXây dựng Đảng

Nâng cao năng lực lãnh đạo, sức chiến đấu của tổ chức cơ sở đảng

{date_line}ĐBP - Xác định việc tiếp tục đổi mới, xây dựng chỉnh đốn Đảng, nâng cao năng lực lãnh \
đạo và sức chiến đấu của tổ chức cơ sở đảng là nhiệm vụ then chốt, là yếu tố quyết định sự thành \
công trong quá trình lãnh đạo, chỉ đạo và thực hiện các nhiệm vụ chính trị. Chính vì vậy, Đảng bộ \
Khối Cơ quan và Doanh nghiệp tỉnh luôn chú trọng nâng cao năng lực lãnh đạo, sức chiến đấu của tổ \
chức cơ sở đảng và chất lượng đội ngũ cán bộ, đảng viên.

Gia Kiệt
"""
# corpus/003 (no outlet), moved into the range.
HANOI = """Lựa chọn những vấn đề trọng tâm, then chốt để tập trung lãnh đạo, tạo chuyển biến

15/03/2022 18:01:00 Thùy Dương
Sáng 15/3, Đảng ủy Khối các cơ quan Thành phố tổ chức Hội nghị kiểm điểm tập thể và cá nhân Ban \
Thường vụ Đảng ủy. Đồng chí Nguyễn Thị Tuyến, Ủy viên Trung ương Đảng, Phó Bí thư Thường trực \
Thành ủy dự và chỉ đạo hội nghị.
"""


def dbp(day: str) -> str:
    return DBP.format(date_line=f"08:39 - Thứ Hai, {day} Lượt xem: 9709 In bài viết\n\n")


DAY_BEFORE = "dbp-28-02.txt"
ON_FROM = "dbp-01-03.txt"
INSIDE = "hanoi-15-03.txt"
ON_TO = "dbp-31-03.txt"
DAY_AFTER = "dbp-01-04.txt"
UNDATED = "dbp-khong-ngay.txt"
ARTICLES = {
    DAY_BEFORE: dbp("28/02/2022"),
    ON_FROM: dbp("01/03/2022"),
    INSIDE: HANOI,
    ON_TO: dbp("31/03/2022"),
    DAY_AFTER: dbp("01/04/2022"),
    UNDATED: DBP.format(date_line=""),
}
DATES = {
    DAY_BEFORE: "2022-02-28",
    ON_FROM: "2022-03-01",
    INSIDE: "2022-03-15",
    ON_TO: "2022-03-31",
    DAY_AFTER: "2022-04-01",
    UNDATED: None,
}
QUESTION = "nâng cao năng lực lãnh đạo, sức chiến đấu của tổ chức cơ sở đảng"

# (filters, the articles they keep): both ends, each end alone, a one-day range, with an outlet.
CASES = [
    (Filters(date_from="2022-03-01", date_to="2022-03-31"), {ON_FROM, INSIDE, ON_TO}),
    (Filters(date_from="2022-03-01"), {ON_FROM, INSIDE, ON_TO, DAY_AFTER}),
    (Filters(date_to="2022-03-31"), {DAY_BEFORE, ON_FROM, INSIDE, ON_TO}),
    (Filters(date_from="2022-03-31", date_to="2022-03-31"), {ON_TO}),
    (Filters(date_from="2022-03-01", date_to="2022-03-01"), {ON_FROM}),
    (Filters(outlet="ĐBP", date_from="2022-03-01", date_to="2022-03-31"), {ON_FROM, ON_TO}),
    (Filters(outlet="ĐBP"), {DAY_BEFORE, ON_FROM, ON_TO, DAY_AFTER, UNDATED}),
    (Filters(doc_ids=(ON_TO, DAY_AFTER), date_to="2022-03-31"), {ON_TO}),
]
IDS = ["range", "from", "to", "last-day", "first-day", "outlet-range", "outlet", "docs-to"]


@pytest.fixture(scope="module")
def assistant(tmp_path_factory) -> Assistant:
    corpus = tmp_path_factory.mktemp("boundary-corpus")
    for name, text in ARTICLES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    # Hybrid fuses both rankings here: with the hashing embedder it would use the lexical alone.
    env = {"RAG_DATA_DIR": str(tmp_path_factory.mktemp("boundary-data"))}
    settings = Settings.from_env(env={**env, "RAG_HYBRID_WEIGHTS": "0.5,0.5"})
    store = Store(settings, load_embedder("hashing"))
    store.sync(corpus)
    return Assistant(settings, Retriever(store, settings))


def test_the_articles_sit_on_and_next_to_the_boundaries(assistant):
    docs = assistant.store.snapshot.docs
    assert {d: r["date"] for d, r in docs.items()} == DATES
    assert {d: r["outlet"] for d, r in docs.items()} == {
        **dict.fromkeys(ARTICLES, "ĐBP"),
        INSIDE: None,
    }
    # Every passage answers the question, so what comes back is what the filter keeps.
    hits = assistant.search(QUESTION, k=50, mode="lexical")
    assert {h.chunk.doc_id for h in hits} == set(ARTICLES)


@pytest.mark.parametrize("mode", ["lexical", "dense", "hybrid"])
@pytest.mark.parametrize(("filters", "kept"), CASES, ids=IDS)
def test_search_keeps_both_ends_of_the_range(assistant, mode, filters, kept):
    hits = assistant.search(QUESTION, k=50, mode=mode, filters=filters)
    assert {h.chunk.doc_id for h in hits} == kept


@pytest.mark.parametrize(("filters", "kept"), CASES, ids=IDS)
def test_the_collection_keeps_both_ends_of_the_range(assistant, filters, kept):
    catalog = Catalog.from_snapshot(assistant.store.snapshot, filters)
    assert {d.doc_id for d in catalog.docs} == kept


@pytest.mark.parametrize(("filters", "kept"), CASES, ids=IDS)
def test_chroma_where_and_the_local_mask_state_the_same_conditions(assistant, filters, kept):
    chunks = assistant.store.snapshot.chunks
    by_mask = {
        c.doc_id for c, keep in zip(chunks, filters.mask(columns(chunks)), strict=True) if keep
    }
    collection = assistant.store.dense.open(create=False)
    by_chroma = {m["doc_id"] for m in collection.get(where=filters.chroma_where())["metadatas"]}
    assert by_mask == by_chroma == kept


def test_how_many_articles_counts_both_ends_of_the_range(assistant):
    filters = Filters(date_from="2022-03-01", date_to="2022-03-31")
    answer = assistant.ask("Có bao nhiêu bài viết?", filters=filters)
    assert re.findall(r"\d+", answer.text.splitlines()[0]) == ["3"]
    assert [c.doc_id for c in answer.citations] == [ON_FROM, ON_TO, INSIDE]


def test_articles_of_an_outlet_within_the_range(assistant):
    filters = Filters(date_from="2022-03-01", date_to="2022-03-31")
    answer = assistant.ask("Bài viết nào của ĐBP?", filters=filters)
    assert re.findall(r"\d+", answer.text.splitlines()[0]) == ["2"]
    assert [c.doc_id for c in answer.citations] == [ON_FROM, ON_TO]
    everything = assistant.ask("Bài viết nào của ĐBP?")
    assert [c.doc_id for c in everything.citations] == [
        ON_FROM,
        DAY_AFTER,
        DAY_BEFORE,
        ON_TO,
        UNDATED,
    ]


@pytest.mark.parametrize(
    ("typed_from", "typed_to"),
    [("01/03/2022", "31/03/2022"), ("1/3/2022", "31/3/2022"), ("2022-03-01", "2022-03-31")],
)
def test_the_page_reads_both_date_boxes_the_same_way(assistant, typed_from, typed_to):
    filters = parse_filters(f" {typed_from} ", typed_to, "")
    assert filters == Filters(date_from="2022-03-01", date_to="2022-03-31")
    assert filters_text(filters) == "từ 01/03/2022 · đến 31/03/2022"
    hits = assistant.search(QUESTION, k=50, mode="lexical", filters=filters)
    assert {h.chunk.doc_id for h in hits} == {ON_FROM, INSIDE, ON_TO}


def test_the_page_takes_a_one_day_range_and_refuses_a_backwards_one():
    assert parse_filters("31/03/2022", "31/03/2022", "ĐBP") == Filters(
        outlet="ĐBP", date_from="2022-03-31", date_to="2022-03-31"
    )
    with pytest.raises(FilterError) as error:
        parse_filters("01/04/2022", "31/03/2022", "")
    assert str(error.value) == "Khoảng ngày ngược: từ 01/04/2022 đến 31/03/2022"
    with pytest.raises(FilterError) as error:
        parse_filters("", "31/04/2022", "")
    assert str(error.value) == (
        "Đến ngày không hợp lệ: '31/04/2022' (dạng 17/02/2023 hoặc 2023-02-17)"
    )
    assert parse_filters(" ", "", " ") is None


def test_filters_of_what_a_user_typed():
    assert Filters.of("1/3/2022", None, " ĐBP ", [ON_TO]) == Filters(
        doc_ids=(ON_TO,), outlet="ĐBP", date_from="2022-03-01"
    )
    assert Filters.of("", "", "", []) is None
    with pytest.raises(DateError, match="^Từ ngày không hợp lệ: '2022-3-1'"):
        Filters.of("2022-3-1")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ({"outlet": 5}, "Nguồn không hợp lệ: 5"),
        ({"date_from": ["01/03/2022"]}, "Từ ngày không hợp lệ: ['01/03/2022']"),
        ({"date_to": {"ngày": 31}}, "Đến ngày không hợp lệ: {'ngày': 31}"),
        ({"doc_ids": ON_TO}, f"Tài liệu cần lọc không hợp lệ: '{ON_TO}'"),
        ({"doc_ids": [ON_TO, 7]}, f"Tài liệu cần lọc không hợp lệ: ['{ON_TO}', 7]"),
    ],
)
def test_a_filter_that_is_not_text_is_one_line(typed, message):
    with pytest.raises(FilterError) as error:
        Filters.of(**typed)
    assert str(error.value) == message
    if "doc_ids" not in typed:  # what the page's API passes on as it came
        with pytest.raises(FilterError) as error:
            parse_filters(typed.get("date_from"), typed.get("date_to"), typed.get("outlet"))
        assert str(error.value) == message


def test_both_date_boxes_show_the_format_the_page_echoes(assistant):
    page = create_app(assistant)
    boxes = {b.elem_id: b for b in page.blocks.values() if b.elem_id in ("date-from", "date-to")}
    shown = [boxes["date-from"].placeholder, boxes["date-to"].placeholder]
    assert all(re.fullmatch(r"\d{2}/\d{2}/\d{4}", p) for p in shown)
    # What a box asks for is what the page shows back once it is read.
    assert [display_date(d) for d in date_range(*shown)] == shown
