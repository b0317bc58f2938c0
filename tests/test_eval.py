"""The evaluation: metric functions on hand-computed cases, the SQuAD importer, an end-to-end
`python -m eval run` on the seed articles, and LLM judging against the scripted stub server."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from eval import metrics
from eval.__main__ import main
from eval.questions import Question, QuestionFileError, load_questions, without_diacritics
from eval.runner import Record
from eval.squad import article_half, even_sample, load_squad, paragraph_id, write_corpus
from tests.llm_stub import StubLLM

SEED_QUESTIONS = [
    {
        "id": "chi-bo",
        "question": "Kế hoạch số 51-KH/ĐUK được triển khai tới bao nhiêu chi bộ trực thuộc đảng ủy cơ sở?",
        "answers": ["594"],
        "doc_ids": ["000_cc43d066e58669a5.txt"],
        "type": "number",
    },
    {
        "id": "bi-thu",
        "question": "Ai la Truong Ban chi dao Chuong trinh so 06-Ctr/DUK?",
        "answers": ["Lê Minh Đức"],
        "doc_ids": ["000_cc43d066e58669a5.txt"],
        "type": "no_diacritics",
    },
    {
        "id": "khong-co",
        "question": "Ông Bùi Võ Quảng sinh năm nào?",
        "answers": [],
        "doc_ids": [],
        "type": "unanswerable",
    },
]


def write_jsonl(path: Path, items: list[dict]) -> Path:
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), "utf-8")
    return path


# --- metrics ----------------------------------------------------------------------------------


def test_normalize_unifies_tone_marks_case_and_spaces():
    assert metrics.normalize("Đảng uỷ  Khối\nHoà Bình") == "đảng ủy khối hòa bình"


def test_contains_reference_after_vietnamese_normalisation():
    answer = "… triển khai tới 64 tổ chức cơ sở đảng và 594 chi bộ trực thuộc đảng ủy cơ sở. [1]"
    assert metrics.contains_reference(answer, ["594"])
    assert metrics.contains_reference("Bí thư Đảng uỷ Khối [1]", ["đảng ủy khối"])
    assert not metrics.contains_reference(answer, ["368", "44"])
    assert not metrics.contains_reference(answer, [])


def test_token_f1_and_exact_match_are_squad_style():
    # "594 chi bộ" against "594": precision 1/3, recall 1 -> F1 = 0.5
    assert metrics.token_f1("594 chi bộ [1]", ["594"]) == pytest.approx(0.5)
    assert metrics.token_f1("Lê Minh Đức", ["Nguyễn Minh Đức", "Lê Minh Đức"]) == 1.0
    # "Phùng Khải Lợi phát biểu" vs "Phùng Khải Lợi": P = 3/5, R = 1 -> F1 = 0.75
    assert metrics.token_f1("Phùng Khải Lợi phát biểu", ["Phùng Khải Lợi"]) == pytest.approx(0.75)
    assert metrics.token_f1("Không có", ["594"]) == 0.0
    assert metrics.exact_match("Lê Minh Đức. [1]", ["lê minh đức"]) == 1.0
    assert metrics.exact_match("594 chi bộ", ["594"]) == 0.0


def test_document_ranking_metrics():
    ranked = metrics.ranked_documents(["a", "a", "b", "c", "b", "d"])
    assert ranked == ["a", "b", "c", "d"]
    assert metrics.hit_at(ranked, {"b"}, 1) == 0.0
    assert metrics.hit_at(ranked, {"b"}, 3) == 1.0
    assert metrics.mrr_at(ranked, {"c"}, 10) == pytest.approx(1 / 3)
    assert metrics.mrr_at(ranked, {"z"}, 10) == 0.0
    assert metrics.recall_at(ranked, {"b", "z"}, 5) == 0.5
    # gold at ranks 2 and 4 of 2 gold documents: (1/log2 3 + 1/log2 5) / (1 + 1/log2 3)
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert metrics.ndcg_at(ranked, {"b", "d"}, 10) == pytest.approx(expected)
    assert metrics.ndcg_at(ranked, {"a"}, 10) == 1.0


def test_abstention_precision_recall_and_undefined_cases():
    # abstained on questions 1, 2; unanswerable are 1 and 3 -> P = 1/2, R = 1/2
    assert metrics.abstention_scores([True, True, False, False], [False, True, False, True]) == (
        0.5,
        0.5,
    )
    assert metrics.abstention_scores([False, False], [True, False]) == (None, 0.0)
    assert metrics.abstention_scores([True], [True]) == (0.0, None)


def test_percentile_interpolates():
    assert metrics.percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert metrics.percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)
    assert metrics.percentile([], 50) == 0.0


# --- question files ---------------------------------------------------------------------------


def test_shipped_question_set_is_valid_and_covers_every_type():
    questions = load_questions(Path("eval/questions.jsonl"))
    corpus = {p.name for p in Path("corpus").glob("*.txt")}
    kinds = {q.type for q in questions}
    assert len(questions) >= 50
    assert kinds == {
        "fact",
        "number",
        "date",
        "person",
        "multi_doc",
        "tone_variant",
        "no_diacritics",
        "follow_up",
        "unanswerable",
    }
    assert sum(not q.answerable for q in questions) >= 8
    assert all(set(q.doc_ids) <= corpus for q in questions)
    assert all(q.history for q in questions if q.type == "follow_up")


def test_bad_question_file_names_the_line(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(
        '{"id": "a", "question": "Ai?", "answers": ["x"], "doc_ids": []}\n{"id": "b"}\n'
    )
    with pytest.raises(QuestionFileError, match=r"q\.jsonl:2: thiếu 'question'"):
        load_questions(path)


def test_without_diacritics_folds_question_and_history_only():
    q = Question("x", "Còn năm 2021 thì sao?", ("44 đảng viên",), ("d",), (("Ai chủ trì?", "Lê"),))
    folded = without_diacritics(q)
    assert folded.question == "Con nam 2021 thi sao?"
    assert folded.history == (("Ai chu tri?", "Le"),)
    assert folded.answers == ("44 đảng viên",)


# --- SQuAD import -----------------------------------------------------------------------------

TINY_SQUAD = {
    "version": "1.1",
    "data": [
        {
            "title": "Đảng bộ Khối Hà Nội",
            "paragraphs": [
                {
                    "context": "Sáng 17/2, Đảng uỷ Khối các cơ quan TP Hà Nội tổ chức Hội nghị sơ kết. "
                    "Kế hoạch được triển khai tới 64 tổ chức cơ sở đảng và 594 chi bộ.",
                    "qas": [
                        {
                            "id": "q1",
                            "question": "Kế hoạch được triển khai tới bao nhiêu chi bộ?",
                            "answers": [{"text": "594", "answer_start": 130}],
                        },
                        {
                            "id": "q2",
                            "question": "Hội nghị sơ kết được tổ chức vào ngày nào?",
                            "answers": [
                                {"text": "17/2", "answer_start": 5},
                                {"text": "Sáng 17/2", "answer_start": 0},
                            ],
                        },
                    ],
                },
                {
                    "context": "Bí thư Đảng uỷ Khối Lê Minh Đức chủ trì Hội nghị.",
                    "qas": [
                        {
                            "id": "q3",
                            "question": "Ai chủ trì Hội nghị?",
                            "answers": [{"text": "Lê Minh Đức", "answer_start": 20}],
                        }
                    ],
                },
            ],
        },
        {
            "title": "Đảng bộ Khối tỉnh",
            "paragraphs": [
                {
                    "context": "Năm 2020, Đảng bộ Khối đã kết nạp 368 đảng viên.",
                    "qas": [
                        {
                            "id": "q4",
                            "question": "Năm 2020 Đảng bộ Khối kết nạp bao nhiêu đảng viên?",
                            "answers": [{"text": "368", "answer_start": 34}],
                        }
                    ],
                }
            ],
        },
    ],
}


def test_squad_import_writes_one_document_per_paragraph(tmp_path):
    source = tmp_path / "tiny.json"
    source.write_text(json.dumps(TINY_SQUAD, ensure_ascii=False), encoding="utf-8")
    questions = write_corpus(load_squad(source), tmp_path / "corpus")
    files = sorted(p.name for p in (tmp_path / "corpus").iterdir())
    assert files == ["000_000.txt", "000_001.txt", "001_000.txt"]
    assert paragraph_id(1, 0) == "001_000.txt"
    assert [(q.id, q.doc_ids, q.answers) for q in questions] == [
        ("q1", ("000_000.txt",), ("594",)),
        ("q2", ("000_000.txt",), ("17/2", "Sáng 17/2")),
        ("q3", ("000_001.txt",), ("Lê Minh Đức",)),
        ("q4", ("001_000.txt",), ("368",)),
    ]
    assert [q.id for q in even_sample(questions, 2)] == ["q1", "q3"]


def test_squad_paragraph_is_the_body_and_the_title_is_the_article(tmp_path):
    from rag.documents import load_document

    source = tmp_path / "tiny.json"
    source.write_text(json.dumps(TINY_SQUAD, ensure_ascii=False), encoding="utf-8")
    write_corpus(load_squad(source), tmp_path / "corpus")
    article = load_document(tmp_path / "corpus" / "000_001.txt", tmp_path / "corpus")
    assert article.title == "Đảng bộ Khối Hà Nội"
    assert [article.text[s:e] for s, e in article.body] == [
        "Bí thư Đảng uỷ Khối Lê Minh Đức chủ trì Hội nghị."
    ]


# --- end to end -------------------------------------------------------------------------------


@pytest.mark.slow
def test_eval_run_end_to_end(tmp_path, seed_corpus, isolated_data_dir, capsys):
    """Every figure here is known without the code under test: both answerable questions are
    about article 000, which BM25 ranks first for them (tests/test_retrieval.py), its answer
    sentences hold "594" and "Lê Minh Đức", and the birth year of Bùi Võ Quảng is in no article."""
    corpus = shutil.copytree(seed_corpus, tmp_path / "corpus")
    (corpus / "trong.txt").write_text("  \n", encoding="utf-8")
    questions = write_jsonl(tmp_path / "q.jsonl", SEED_QUESTIONS)
    out = tmp_path / "out"
    code = main(
        [
            "run",
            "--questions",
            str(questions),
            "--corpus",
            str(corpus),
            "--modes",
            "lexical,hybrid",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert not isolated_data_dir.exists()  # the user's index is never touched
    assert {p.name for p in out.iterdir()} == {
        "report.json",
        "report.md",
        "results.jsonl",
        "metrics.png",
        "latency.png",
    }
    report = json.loads((out / "report.json").read_text("utf-8"))
    assert report["dataset"] == "q.jsonl"
    assert (report["n_questions"], report["n_documents"]) == (3, 5)
    assert report["skipped_documents"] == [
        {"doc_id": "trong.txt", "reason": "không có nội dung văn bản"}
    ]
    assert list(report["modes"]) == ["lexical", "hybrid"]
    for mode in ("lexical", "hybrid"):
        section = report["modes"][mode]
        assert set(section) == {"retrieval", "answer", "latency_ms", "by_source"}
        assert section["retrieval"] == {
            "hit@1": 1.0,
            "hit@3": 1.0,
            "hit@5": 1.0,
            "recall@5": 1.0,
            "mrr@10": 1.0,
            "ndcg@10": 1.0,
        }
        answer = section["answer"]
        assert set(answer) == {
            "contains_reference",
            "token_f1",
            "exact_match",
            "citation_correct",
            "citation_supported",
            "abstain_precision",
            "abstain_recall",
            "mean_answer_words",
            "span_exact_match",
            "span_f1",
            "short_exact_match",
            "short_f1",
            "short_in_cited",
        }
        assert answer["contains_reference"] == 1.0
        # Both bold answers are words of the passage each cites.
        assert answer["short_in_cited"] == 1.0
        assert (answer["citation_correct"], answer["citation_supported"]) == (1.0, 1.0)
        # One abstention, on the one unanswerable question.
        assert (answer["abstain_precision"], answer["abstain_recall"]) == (1.0, 1.0)
        assert set(section["latency_ms"]) == {
            "retrieve_p50",
            "retrieve_p95",
            "answer_p50",
            "answer_p95",
            "first_shown_p50",
            "first_shown_p95",
            "total_p50",
            "total_p95",
        }
        assert section["by_source"] == {
            # The bold spans "594" and "Lê Minh Đức" are the references themselves.
            "number": {"n": 1, "hit@5": 1.0, "contains_reference": 1.0, "short_f1": 1.0},
            "no_diacritics": {"n": 1, "hit@5": 1.0, "contains_reference": 1.0, "short_f1": 1.0},
            "unanswerable": {
                "n": 1,
                "hit@5": None,
                "contains_reference": None,
                "short_f1": None,
            },
        }

    rows = [json.loads(line) for line in (out / "results.jsonl").read_text("utf-8").splitlines()]
    assert [(r["mode"], r["id"]) for r in rows] == [
        (m, q["id"]) for m in ("lexical", "hybrid") for q in SEED_QUESTIONS
    ]
    assert [r["documents"][0] for r in rows[:2]] == ["000_cc43d066e58669a5.txt"] * 2
    assert [r["abstained"] for r in rows] == [False, False, True] * 2
    assert all("short_answer" in r for r in rows)
    markdown = (out / "report.md").read_text("utf-8")
    assert "| lexical | 1.000 | 1.000 | 1.000 | 1.000 | 1.000 | 1.000 |" in markdown
    assert "## By source: lexical" in markdown
    assert "| unanswerable | 1 | — | — | — |" in markdown
    assert "## Skipped documents (1)\n\n- trong.txt: không có nội dung văn bản" in markdown
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].startswith("q.jsonl: 3 câu hỏi, 5 tài liệu")
    assert printed.splitlines()[2].startswith("lexical")


def test_eval_run_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    code = main(["run", "--questions", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"Lỗi: Không tìm thấy tệp câu hỏi: {tmp_path / 'missing.jsonl'}"]


@pytest.mark.slow
def test_eval_squad_end_to_end(tmp_path):
    source = tmp_path / "tiny.json"
    source.write_text(json.dumps(TINY_SQUAD, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "out"
    assert (
        main(["squad", str(source), "--modes", "lexical", "--no-diacritics", "--out", str(out)])
        == 0
    )
    report = json.loads((out / "report.json").read_text("utf-8"))
    assert report["dataset"] == "tiny.json (no diacritics)"
    assert (report["n_questions"], report["n_documents"]) == (4, 3)
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text("utf-8").splitlines()]
    assert rows[0]["question"] == "Ke hoach duoc trien khai toi bao nhieu chi bo?"
    # Each question names words only its own paragraph has (chi bộ, ngày, chủ trì, 2020).
    assert [r["documents"][0] for r in rows] == [
        "000_000.txt",
        "000_000.txt",
        "000_001.txt",
        "001_000.txt",
    ]
    lexical = report["modes"]["lexical"]
    assert lexical["retrieval"]["hit@1"] == 1.0
    assert {title: group["n"] for title, group in lexical["by_source"].items()} == {
        "Đảng bộ Khối Hà Nội": 3,
        "Đảng bộ Khối tỉnh": 1,
    }
    assert lexical["by_source"]["Đảng bộ Khối tỉnh"]["hit@5"] == 1.0
    assert report["skipped_documents"] == []


@pytest.mark.slow
def test_eval_squad_half_keeps_whole_articles(tmp_path):
    source = tmp_path / "tiny.json"
    source.write_text(json.dumps(TINY_SQUAD, ensure_ascii=False), encoding="utf-8")
    data = load_squad(source)
    # Titles sorted: "Đảng bộ Khối Hà Nội" < "Đảng bộ Khối tỉnh"; even positions tune.
    assert [a["title"] for a in article_half(data, "tune")["data"]] == ["Đảng bộ Khối Hà Nội"]
    assert [a["title"] for a in article_half(data, "heldout")["data"]] == ["Đảng bộ Khối tỉnh"]
    out = tmp_path / "out"
    assert (
        main(["squad", str(source), "--half", "heldout", "--modes", "lexical", "--out", str(out)])
        == 0
    )
    report = json.loads((out / "report.json").read_text("utf-8"))
    assert report["dataset"] == "tiny.json (heldout half)"
    assert (report["n_questions"], report["n_documents"]) == (1, 1)


def test_squad_answer_without_a_verbatim_span_is_answerable(tmp_path):
    """answer_start -1 marks an answer that is not a span of the paragraph (a translation):
    the question is still answerable and its paragraph is still gold."""
    data = json.loads(json.dumps(TINY_SQUAD))
    qa = data["data"][1]["paragraphs"][0]["qas"][0]
    qa["answers"] = [{"text": "ba trăm sáu mươi tám", "answer_start": -1}]
    questions = write_corpus(data, tmp_path / "corpus")
    q4 = questions[-1]
    assert (q4.id, q4.answerable, q4.doc_ids, q4.answers) == (
        "q4",
        True,
        ("001_000.txt",),
        ("ba trăm sáu mươi tám",),
    )
    assert q4.source == "Đảng bộ Khối tỉnh"


def _record(short_answer, abstained=False, answers=("594",)) -> Record:
    answer = SimpleNamespace(
        text="Kế hoạch được triển khai tới 594 chi bộ. [1]",
        abstained=abstained,
        citations=[],
        span=None,
        short_answer=short_answer,
        timings_ms={},
    )
    question = Question("q", "Bao nhiêu chi bộ?", answers, ("d",), type="number")
    return Record(question, "lexical", ("d",), answer)


def test_short_answer_is_scored_squad_style_and_none_or_abstained_is_zero():
    assert _record("594").scores()["short_exact_match"] == 1.0
    # "594 chi bộ" against "594": precision 1/3, recall 1 -> F1 0.5
    scores = _record("594 chi bộ").scores()
    assert (scores["short_exact_match"], scores["short_f1"]) == (0.0, pytest.approx(0.5))
    for record in (_record(None), _record("594", abstained=True)):
        assert (record.scores()["short_exact_match"], record.scores()["short_f1"]) == (0.0, 0.0)
    # An answer object from before `short_answer` existed scores 0 as well.
    older = SimpleNamespace(
        **{k: v for k, v in vars(_record("594").answer).items() if k != "short_answer"}
    )
    record = Record(_record("594").question, "lexical", ("d",), older)
    assert record.short_answer is None and record.scores()["short_f1"] == 0.0


# --- LLM judge --------------------------------------------------------------------------------


@pytest.mark.slow
def test_judge_scores_with_the_stub_llm(tmp_path, monkeypatch, seed_corpus):
    question = SEED_QUESTIONS[0]
    with StubLLM() as stub:
        monkeypatch.setenv("RAG_EMBEDDING_MODEL", "hashing")
        monkeypatch.setenv("RAG_LLM_BASE_URL", stub.base_url)
        monkeypatch.setenv("RAG_LLM_MODEL", "stub")
        stub.queue(
            # eval answers extractively without --llm; the judge: verdicts, then questions
            '[{"n": 1, "supported": false}]',
            "\n".join([question["question"]] * 3),
        )
        out = tmp_path / "out"
        code = main(
            [
                "run",
                "--questions",
                str(write_jsonl(tmp_path / "q.jsonl", [question])),
                "--corpus",
                str(seed_corpus),
                "--modes",
                "lexical",
                "--judge",
                "--out",
                str(out),
            ]
        )
    assert code == 0
    report = json.loads((out / "report.json").read_text("utf-8"))
    judge = report["modes"]["lexical"]["judge"]
    assert judge["faithfulness"] == 0.0  # the judge found its one claim unsupported
    assert judge["answer_relevance"] == pytest.approx(1.0)
    assert judge["n_judged"] == 1
    assert report["modes"]["lexical"]["answer"]["contains_reference"] == 1.0
    prompts = [m["content"] for m in stub.requests[0]["messages"]]
    # One claim: the extractive answer (its bold span, then its cited excerpt).
    assert "\n1. 594 — tự cường và khát vọng phát triển Thủ đô" in prompts[1]
    assert "594 chi bộ trực thuộc đảng ủy cơ sở (trích dẫn: [1])\n\n" in prompts[1]
    assert "nhận định" in prompts[0]
    assert "LLM judge" in (out / "report.md").read_text("utf-8")


def test_judge_needs_an_llm(tmp_path, capsys):
    code = main(["run", "--judge", "--out", str(tmp_path)])
    assert code == 2
    assert "RAG_LLM_BASE_URL" in capsys.readouterr().err
