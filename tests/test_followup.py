"""Follow-ups resolved before retrieval (rag.followup through the chain's rewrite): "ông ấy",
"bà ấy" and "<noun> đó" put back as the name or phrase of an earlier turn, with and without
diacritics, over conversations of three and four turns through `Assistant.ask`."""

from __future__ import annotations

import pytest

from embeddings import load_embedder
from rag.assistant import Assistant
from rag.config import Settings
from rag.followup import resolve_reference
from rag.retrieval import Retriever
from rag.store import Store

KINHTEDOTHI = "000_cc43d066e58669a5.txt"
HA_NOI = "003_45ec861fa7425e3b.txt"


@pytest.fixture(scope="module")
def assistant(tmp_path_factory, seed_corpus):
    data = tmp_path_factory.mktemp("followup-data")
    settings = Settings.from_env(env={"RAG_DATA_DIR": str(data), "RAG_READER": "off"})
    store = Store(settings, load_embedder("hashing"))
    store.sync(seed_corpus)
    return Assistant(settings, Retriever(store, settings))


def _talk(assistant, questions):
    """Each question asked with the conversation so far, as the page keeps it."""
    history, answers = [], []
    for question in questions:
        answer = assistant.ask(question, history=list(history))
        answers.append(answer)
        history.append((question, answer.text))
    return answers


def test_four_turns_person_then_title_then_the_meeting_then_the_programme(assistant):
    answers = _talk(
        assistant,
        [
            "Ai chủ trì Hội nghị sơ kết 2 năm thực hiện Chương trình số 06-Ctr/ĐUK?",
            "Ông ấy giữ chức vụ gì?",
            "Hội nghị đó diễn ra khi nào?",
            "Chương trình đó được ban hành ngày nào?",
        ],
    )
    assert answers[0].short_answer == "Lê Minh Đức"
    assert [a.standalone_question for a in answers[1:]] == [
        "Lê Minh Đức giữ chức vụ gì?",
        "Hội nghị sơ kết 2 năm thực hiện Chương trình số 06-Ctr/ĐUK diễn ra khi nào?",
        "Chương trình số 06-Ctr/ĐUK được ban hành ngày nào?",
    ]
    assert "Lê Minh Đức" in answers[1].text and not answers[1].abstained
    assert answers[1].citations[0].doc_id == KINHTEDOTHI
    assert not answers[2].abstained and answers[2].citations[0].doc_id == KINHTEDOTHI
    assert answers[3].short_answer == "ngày 22/1/2021"


def test_three_turns_she_then_that_meeting(assistant):
    answers = _talk(
        assistant,
        [
            "Ai là Phó Bí thư Thường trực Thành ủy dự hội nghị kiểm điểm?",
            "Bà ấy giữ chức vụ gì trong Trung ương?",
            "Hội nghị đó diễn ra ngày nào?",
        ],
    )
    assert answers[0].short_answer == "Nguyễn Thị Tuyến"
    assert answers[1].standalone_question == "Nguyễn Thị Tuyến giữ chức vụ gì trong Trung ương?"
    assert answers[1].text.startswith("Đồng chí Nguyễn Thị Tuyến, Ủy viên Trung ương Đảng")
    # The phrase the previous question wrote, not the first "hội nghị" of some answer.
    assert answers[2].standalone_question == "hội nghị kiểm điểm diễn ra ngày nào?"
    assert answers[2].short_answer == "25/12"
    assert answers[2].citations[0].doc_id == HA_NOI


def test_three_turns_typed_without_diacritics(assistant):
    answers = _talk(
        assistant,
        [
            "Ai chu tri Hoi nghi so ket 2 nam thuc hien Chuong trinh so 06-Ctr/DUK?",
            "Ong ay giu chuc vu gi?",
            "Hoi nghi do dien ra khi nao?",
        ],
    )
    assert answers[0].short_answer == "Lê Minh Đức"
    assert answers[1].standalone_question == "Lê Minh Đức giu chuc vu gi?"
    assert answers[2].standalone_question == (
        "Hoi nghi so ket 2 nam thuc hien Chuong trinh so 06-Ctr/DUK dien ra khi nao?"
    )
    assert not answers[2].abstained and answers[2].citations[0].doc_id == KINHTEDOTHI


def test_three_turns_a_count_then_that_plan(assistant):
    answers = _talk(
        assistant,
        [
            "Kế hoạch số 51-KH/ĐUK được triển khai tới bao nhiêu chi bộ?",
            "Có bao nhiêu tổ chức cơ sở đảng?",
            "Kế hoạch đó do ai ban hành?",
        ],
    )
    assert answers[0].short_answer == "594"
    assert answers[2].standalone_question == "Kế hoạch số 51-KH/ĐUK do ai ban hành?"
    assert answers[2].citations[0].doc_id == KINHTEDOTHI


def test_three_turns_then_the_other_count(assistant):
    """ "Còn tổ chức cơ sở đảng thì sao?" after a count of chi bộ counts the other unit (before,
    the chain made it the subject: "tổ chức cơ sở đảng tới bao nhiêu chi bộ?", answered 594)."""
    answers = _talk(
        assistant,
        [
            "Kế hoạch số 51-KH/ĐUK được triển khai tới bao nhiêu chi bộ?",
            "Còn tổ chức cơ sở đảng thì sao?",
            "Kế hoạch đó do ai ban hành?",
        ],
    )
    assert answers[1].standalone_question == (
        "Kế hoạch số 51-KH/ĐUK được triển khai tới bao nhiêu tổ chức cơ sở đảng?"
    )
    assert answers[1].short_answer == "64"
    assert answers[2].standalone_question == "Kế hoạch số 51-KH/ĐUK do ai ban hành?"


@pytest.mark.parametrize(
    ("question", "history", "expected"),
    [
        (
            "con to chuc co so dang thi sao?",
            [("Ke hoach duoc trien khai toi bao nhieu chi bo?", "594 [1]")],
            "Ke hoach duoc trien khai toi bao nhieu to chuc co so dang?",
        ),
        (
            "Còn đảng viên thì sao?",
            [("Có bao nhiêu chi bộ trực thuộc Đảng bộ Khối?", "159 [1]")],
            "Có bao nhiêu đảng viên trực thuộc Đảng bộ Khối?",
        ),
        # Another subject or another year is the chain's own "còn" rule, not a count's unit.
        ("Còn Hà Nội thì sao?", [("Điện Biên có bao nhiêu đảng viên?", "10 nghìn [1]")], None),
        ("Còn năm 2021 thì sao?", [("Năm 2020 kết nạp bao nhiêu đảng viên?", "368 [1]")], None),
        # Nothing earlier names a "nghị quyết": the question stays as it is.
        ("Nghị quyết đó có hiệu lực khi nào?", [("Ai chủ trì hội nghị?", "Lê Minh Đức [1]")], None),
        # The noun alone again names nothing more than the demonstrative.
        ("Hội nghị đó ở đâu?", [("Ai phát biểu tại Hội nghị?", "Lê Minh Đức [1]")], None),
        # "khi đó" is a time, not a noun pointed back to.
        ("Khi đó ai chủ trì?", [("Hội nghị kiểm điểm diễn ra ngày nào?", "25/12 [1]")], None),
        (
            "Người đó phát biểu gì?",
            [("Ai dự hội nghị?", "Nguyễn Thị Tuyến [1] — Đồng chí Nguyễn Thị Tuyến dự.")],
            "Nguyễn Thị Tuyến phát biểu gì?",
        ),
        ("Ông ấy là ai?", [], None),
    ],
)
def test_resolve_reference(question, history, expected):
    assert resolve_reference(question, history) == expected


def test_another_subject_of_a_measure_keeps_the_measure():
    """ "phần trăm" is a measure, not a counted thing: "Còn kim ngạch nhập khẩu thì sao?" is
    left to the chain's subject swap (the count rule first made it "… tăng bao nhiêu kim ngạch
    nhập khẩu?")."""
    history = [("Giá trị sản xuất công nghiệp của Khối tăng bao nhiêu phần trăm?", "15% [1]")]
    assert resolve_reference("Còn kim ngạch nhập khẩu thì sao?", history) is None
