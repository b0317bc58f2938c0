"""Questions about the collection (metadata answers, cited to the document), small talk built
from the user's own titles, and the router step of `Assistant.ask` that sends them there."""

from __future__ import annotations

import pytest

from embeddings import load_embedder
from rag.assistant import Assistant
from rag.collection import Catalog, answer_collection, display_date, question_date
from rag.config import Settings
from rag.foreign import NO_MODEL, NOTE, answer_foreign
from rag.intents import GREETING, HELP, THANKS
from rag.reader import Read
from rag.retrieval import Retriever
from rag.router import Router
from rag.smalltalk import example_questions, small_talk_reply
from rag.store import Store
from rag.types import Filters

KINHTEDOTHI = "000_cc43d066e58669a5.txt"
THAM_MUU = "002_4b3c1fe148501639.txt"
HANOI_KIEM_DIEM = "003_45ec861fa7425e3b.txt"
DIEN_BIEN = "004_aa61c7b126e7bd72.txt"


def _assistant(data, corpus) -> Assistant:
    settings = Settings.from_env(env={"RAG_DATA_DIR": str(data)})
    store = Store(settings, load_embedder("hashing"))
    store.sync(corpus)
    return Assistant(settings, Retriever(store, settings))


@pytest.fixture(scope="module")
def assistant(tmp_path_factory, seed_corpus) -> Assistant:
    return _assistant(tmp_path_factory.mktemp("talk-data"), seed_corpus)


@pytest.fixture(scope="module")
def catalog(assistant) -> Catalog:
    return Catalog.from_snapshot(assistant.store.snapshot)


def test_catalog_holds_each_document_with_its_metadata(catalog):
    assert [(d.doc_id, d.outlet, d.date, d.author) for d in catalog.docs] == [
        (KINHTEDOTHI, "Kinhtedothi", "2023-02-17", "Thịnh An"),
        ("001_de17a9f0785143ac.txt", None, None, "Xuân Thu"),
        (THAM_MUU, None, None, "SONG GIANG"),
        (HANOI_KIEM_DIEM, None, "2021-12-25", "Thùy Dương"),
        (DIEN_BIEN, "ĐBP", "2022-03-07", "Gia Kiệt"),
    ]
    assert catalog.names == (
        "Gia Kiệt",
        "Kinhtedothi",
        "SONG GIANG",
        "Thùy Dương",
        "Thịnh An",
        "Xuân Thu",
        "ĐBP",
    )


def test_catalog_keeps_only_what_the_page_filters_keep(assistant):
    kept = Catalog.from_snapshot(assistant.store.snapshot, Filters(date_from="2022-01-01"))
    assert [d.doc_id for d in kept.docs] == [KINHTEDOTHI, DIEN_BIEN]


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("bài nào đăng ngày 7/3/2022", (7, 3, 2022)),
        ("ngày 25 tháng 12 năm 2021", (25, 12, 2021)),
        ("ngay 17/2", (17, 2, None)),
        ("tháng 3/2022", (None, 3, 2022)),
        ("năm 2021", (None, None, 2021)),
        ("2023-02-17", (17, 2, 2023)),
        ("nhiệm kỳ mới", None),
    ],
)
def test_question_date(text, date):
    assert question_date(text) == date


def test_display_date_is_day_first():
    assert display_date("2022-03-07") == "07/03/2022"


def test_count(catalog):
    answer = answer_collection("count", "Có bao nhiêu bài viết?", "", catalog)
    assert answer.text.splitlines()[0] == "Có **5** bài viết trong bộ tài liệu:"
    assert answer.text.splitlines()[5] == (
        "- «Nâng cao năng lực lãnh đạo, sức chiến đấu của tổ chức cơ sở đảng» "
        "(ĐBP, 07/03/2022, tác giả Gia Kiệt) [5]"
    )
    assert [c.doc_id for c in answer.citations] == [d.doc_id for d in catalog.docs]


@pytest.mark.parametrize(
    ("question", "doc_id"),
    [
        ("Bài viết nào của Kinhtedothi?", KINHTEDOTHI),
        ("bai viet nao cua kinhtedothi", KINHTEDOTHI),
        ("Bài nào đăng ngày 7/3/2022?", DIEN_BIEN),
        ("Bài nào do Thùy Dương viết?", HANOI_KIEM_DIEM),
        ("bai nao do Thuy Duong viet", HANOI_KIEM_DIEM),
        ("Những bài viết nào đăng năm 2021?", HANOI_KIEM_DIEM),
    ],
)
def test_which_article_by_outlet_date_or_author(catalog, question, doc_id):
    answer = answer_collection("list", question, "", catalog)
    assert answer.text.splitlines()[0] == "1 bài viết khớp với câu hỏi:"
    assert [c.doc_id for c in answer.citations] == [doc_id]


@pytest.mark.parametrize(
    "question",
    [
        "Bài viết nào đăng trên báo Kinh tế và Đô thị?",
        "Bai viet nao dang tren bao Kinh te Do thi?",
        "Báo Kinh tế & Đô thị có bài nào?",
    ],
)
def test_an_outlet_spelled_out_reads_the_metadata(assistant, question):
    """The outlet is stored as "Kinhtedothi"; a reader spells it out. Before, the question went
    to the factoid answerer, which quoted a sentence naming the newspaper's editor."""
    answer = assistant.ask(question)
    assert answer.text.splitlines() == [
        "1 bài viết khớp với câu hỏi:",
        "- «Đảng uỷ Khối các cơ quan TP chủ động nâng cao chất lượng đảng viên» "
        "(Kinhtedothi, 17/02/2023, tác giả Thịnh An) [1]",
    ]
    assert [c.doc_id for c in answer.citations] == [KINHTEDOTHI]


def test_a_date_no_article_has_is_left_to_the_content():
    # "Bài báo nào được xuất bản năm 1937?" may ask about a paper the text mentions.
    catalog = Catalog(())
    assert answer_collection("list", "Bài báo nào được xuất bản năm 1937?", "", catalog) is None


def test_author_of_an_article_named_by_its_title(catalog):
    answer = answer_collection(
        "author",
        "Ai viết bài Nâng cao chất lượng tham mưu?",
        "nâng cao chất lượng tham mưu",
        catalog,
    )
    assert answer.text == "- «Nâng cao chất lượng tham mưu»: tác giả **SONG GIANG** [1]"
    assert answer.citations[0].doc_id == THAM_MUU
    assert answer.citations[0].quote.startswith("Đó là quyết tâm của Đảng bộ Khối")


def test_a_missing_value_is_said_to_be_missing(catalog):
    answer = answer_collection(
        "outlet",
        "Bài Nâng cao chất lượng tham mưu đăng trên báo nào?",
        "nâng cao chất lượng tham mưu",
        catalog,
    )
    assert answer.text == "- «Nâng cao chất lượng tham mưu»: bài không ghi nguồn (tên báo) [1]"


def test_an_article_named_by_what_it_is_about_is_found_by_retrieval(catalog):
    question = "Bài viết về hội nghị kiểm điểm được đăng ngày nào?"
    answer = answer_collection(
        "date", question, "hội nghị kiểm điểm", catalog, about=lambda topic: HANOI_KIEM_DIEM
    )
    assert answer.text == (
        "- «Lựa chọn những vấn đề trọng tâm, then chốt để tập trung lãnh đạo, tạo chuyển biến»: "
        "đăng ngày **25/12/2021** [1]"
    )
    assert answer_collection("date", question, "hội nghị kiểm điểm", catalog) is None


def test_small_talk_examples_come_from_the_collection(catalog):
    answer = small_talk_reply(GREETING, catalog)
    assert answer.text.splitlines() == [
        "Xin chào! Tôi trả lời câu hỏi tiếng Việt dựa trên 5 bài viết trong bộ tài liệu của bạn,"
        " mỗi ý đều kèm trích dẫn [n] tới đoạn gốc. Tôi có thể trả lời câu hỏi ai, khi nào, ở "
        "đâu, bao nhiêu, vì sao; tóm tắt hay so sánh các bài; và cho biết bộ tài liệu có những "
        "bài nào.",
        "Bạn có thể hỏi, ví dụ:",
        "- Tóm tắt bài «Đảng uỷ Khối các cơ quan TP chủ động nâng cao chất…»",
        "- Ai viết bài «Nâng cao năng lực lãnh đạo, sức chiến đấu của tổ chức…»?",
        "- Có bao nhiêu bài viết trong bộ tài liệu?",
    ]
    assert (answer.abstained, answer.citations) == (False, ())
    assert small_talk_reply(HELP, catalog).text.startswith("Tôi trả lời câu hỏi tiếng Việt")
    assert small_talk_reply(THANKS, catalog).text.splitlines()[0] == (
        "Không có gì, rất vui được giúp bạn! Bạn có thể hỏi, ví dụ:"
    )


def test_small_talk_over_another_collection_names_its_articles(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "lua.txt").write_text(
        "Nông dân Đồng Tháp thu hoạch lúa Thu Đông\n\nNgày 12/10/2024, nông dân huyện Tháp "
        "Mười bắt đầu thu hoạch lúa vụ Thu Đông với năng suất bình quân 6 tấn mỗi héc-ta.\n",
        encoding="utf-8",
    )
    catalog = Catalog.from_snapshot(_assistant(tmp_path / "data", corpus).store.snapshot)
    lines = small_talk_reply(GREETING, catalog).text.splitlines()
    assert lines[0].startswith("Xin chào! Tôi trả lời câu hỏi tiếng Việt dựa trên 1 bài viết")
    assert lines[2:] == [
        "- Tóm tắt bài «Nông dân Đồng Tháp thu hoạch lúa Thu Đông»",
        "- Có bao nhiêu bài viết trong bộ tài liệu?",
    ]


def test_small_talk_over_an_empty_collection_says_how_to_add_documents():
    text = small_talk_reply(GREETING, Catalog(())).text
    assert text == (
        "Xin chào! Bộ tài liệu chưa có bài viết nào. Hãy nạp tài liệu (python -m rag ingest "
        "THƯ_MỤC hoặc nút tải tệp lên) rồi đặt câu hỏi."
    )


def test_foreign_question_quotes_the_closest_sentence_under_one_line(assistant):
    hits = assistant.retriever.search("Lê Minh Đức chủ trì Hội nghị", k=2, mode="lexical")

    def similarity(question, sentences):  # a fake: closeness = shared words with "chủ trì"
        return [float("chủ trì" in s) for s in sentences]

    answer = answer_foreign("Who chaired the conference?", hits, similarity)
    assert answer.text == (
        f"{NOTE}\n\nBí thư Đảng uỷ Khối các cơ quan TP Hà Nội Lê Minh Đức, Trưởng Ban chỉ đạo "
        "Chương trình số 06-Ctr/ĐUK chủ trì Hội nghị. [1]"
    )
    assert answer.citations[0].doc_id == KINHTEDOTHI
    assert answer_foreign("Who chaired the conference?", hits, None).text == NO_MODEL


class _PlantedReader:
    """A reader whose best span in a passage is `wanted` where the passage holds it."""

    def __init__(self, wanted: str):
        self.wanted = wanted

    def read(self, question, passages, avoid=None):
        found = []
        for passage in passages:
            at = passage.find(self.wanted)
            found.append(Read(at, at + len(self.wanted), 0.5, 3.0) if at >= 0 else None)
        return found


def test_foreign_question_gets_the_readers_direct_answer_under_the_note(assistant):
    """With the reader, an English question gets the answer span first, not a whole sentence
    (before: the closest sentence, often the article's lead)."""
    hits = assistant.retriever.search("Lê Minh Đức chủ trì Hội nghị", k=2, mode="lexical")
    answer = answer_foreign(
        "Who chaired the conference?",
        hits,
        lambda question, sentences: [0.0] * len(sentences),
        _PlantedReader("Lê Minh Đức"),
    )
    assert answer.short_answer == answer.span == "Lê Minh Đức"
    assert answer.text.startswith(f"{NOTE}\n\nLê Minh Đức [1] — ")
    cite = answer.citations[0]
    assert cite.doc_id == KINHTEDOTHI
    assert cite.quote[cite.span[0] - cite.start : cite.span[1] - cite.start] == "Lê Minh Đức"


# -- the router step in Assistant.ask ---------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "first_line"),
    [
        ("Xin chào", "Xin chào! Tôi trả lời câu hỏi tiếng Việt dựa trên 5 bài viết"),
        ("cam on", "Không có gì, rất vui được giúp bạn! Bạn có thể hỏi, ví dụ:"),
        ("Có bao nhiêu bài viết?", "Có **5** bài viết trong bộ tài liệu:"),
        ("Tóm tắt bài Nâng cao chất lượng tham mưu", "Tóm tắt «Nâng cao chất lượng tham mưu»:"),
        (
            "bai viet cua Kinhtedothi noi gi",
            "Tóm tắt «Đảng uỷ Khối các cơ quan TP chủ động nâng cao chất lượng đảng viên» "
            "(Kinhtedothi, 17/02/2023):",
        ),
        (
            "Bài viết về hội nghị kiểm điểm được đăng ngày nào?",
            "- «Lựa chọn những vấn đề trọng tâm, then chốt để tập trung lãnh đạo, tạo chuyển "
            "biến»: đăng ngày **25/12/2021** [1]",
        ),
        ("So sánh Lê Minh Đức và Bùi Võ Quảng", "- Lê Minh Đức: Bí thư Đảng uỷ Khối các cơ quan"),
        ("Who chaired the conference on February 17?", NO_MODEL),
        # Kinds that need no retrieval across languages are answered with the note first.
        ("How many articles are there?", NOTE),
        ("Summarize the article from Kinhtedothi", NOTE),
        ("Who wrote the article about the review conference?", NO_MODEL),
    ],
)
def test_assistant_routes_each_kind(assistant, question, first_line):
    answer = assistant.ask(question)
    assert answer.text.splitlines()[0].startswith(first_line)
    assert answer.question == question
    assert set(answer.timings_ms) == {"retrieve", "answer", "total"}


@pytest.mark.parametrize(
    "question",
    [
        "Kế hoạch số 51-KH/ĐUK được triển khai tới bao nhiêu tổ chức cơ sở đảng?",
        "ke hoach so 51-KH/DUK duoc trien khai toi bao nhieu to chuc co so dang",
        "Chào bạn, ai là Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK?",
    ],
)
def test_the_router_leaves_factoid_questions_to_the_answerer(assistant, question):
    router = Router(assistant.retriever, lambda: None, llm=False)
    assert router.answer(question) is None


def test_assistant_summary_of_every_article_when_none_is_named(assistant):
    answer = assistant.ask("Tóm tắt các bài viết")
    heads = [line for line in answer.text.splitlines() if line.startswith("**«")]
    assert len(heads) == 5
    assert len(answer.citations) == 5


def test_a_summary_after_a_question_is_of_the_article_it_was_about(assistant):
    history = [("Ai là Phó Bí thư Thường trực Thành ủy dự hội nghị kiểm điểm?", "Nguyễn Thị Tuyến")]
    answer = assistant.ask("Tóm tắt bài viết", history=history)
    assert answer.text.splitlines()[0] == (
        "Tóm tắt «Lựa chọn những vấn đề trọng tâm, then chốt để tập trung lãnh đạo, tạo chuyển "
        "biến» (25/12/2021):"
    )
    assert {c.doc_id for c in answer.citations} == {HANOI_KIEM_DIEM}


def test_an_english_summary_is_the_vietnamese_one_under_the_note(assistant):
    lines = assistant.ask("Summarize the article from Kinhtedothi").text.splitlines()
    assert lines[:3] == [
        NOTE,
        "",
        "Tóm tắt «Đảng uỷ Khối các cơ quan TP chủ động nâng cao chất lượng đảng viên» "
        "(Kinhtedothi, 17/02/2023):",
    ]


def test_the_examples_small_talk_suggests_are_answered(assistant, catalog):
    answers = [assistant.ask(q) for q in example_questions(catalog)]
    assert [a.abstained for a in answers] == [False, False, False]
    assert [a.citations[0].doc_id for a in answers] == [KINHTEDOTHI, DIEN_BIEN, KINHTEDOTHI]


def test_the_page_examples_are_the_collections_own(assistant, tmp_path):
    """The page's example questions name the user's articles; an empty store gets questions
    about the assistant and the collection, never a fixed article's question."""
    assert assistant.example_questions() == [
        "Tóm tắt bài «Đảng uỷ Khối các cơ quan TP chủ động nâng cao chất…»",
        "Ai viết bài «Nâng cao năng lực lãnh đạo, sức chiến đấu của tổ chức…»?",
        "Có bao nhiêu bài viết trong bộ tài liệu?",
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _assistant(tmp_path / "data", empty).example_questions() == [
        "Bạn giúp gì được?",
        "Có bao nhiêu bài viết trong bộ tài liệu?",
    ]
