"""`python -m rag` as a user runs it: JSON contracts, exit codes and one-line errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO

QUESTION = "Ai là Trưởng Ban chỉ đạo Chương trình số 06-Ctr/ĐUK?"
MARKERS_ONLY = "Câu hỏi chỉ có dấu câu hoặc số trích dẫn như [1]: hãy hỏi lại bằng lời."
K_RANGE = "cần một số nguyên từ 1 đến 50"
SEARCH_HELP = "(xem python -m rag search -h)"


@pytest.fixture
def run(tmp_path, seed_corpus):
    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)
    env = {
        **os.environ,
        "RAG_DATA_DIR": str(tmp_path / "data"),
        "RAG_CORPUS_DIR": str(corpus),
        "RAG_EMBEDDING_MODEL": "hashing",
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(REPO),
    }

    def _run(*args: str | bytes, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "rag", *args],
            cwd=tmp_path,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=300,
        )

    def _python(code: str) -> subprocess.CompletedProcess:
        """`code` run by a fresh interpreter, as the CLI's process would be."""
        return subprocess.run(
            [sys.executable, "-c", code],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    _run.corpus = corpus
    _run.python = _python
    return _run


@pytest.mark.slow
def test_ingest_then_search_finds_kinhtedothi_first(run):
    ingest = run("ingest", "--json")
    assert ingest.returncode == 0, ingest.stderr
    report = json.loads(ingest.stdout)
    assert {k: report[k] for k in ("added", "updated", "deleted", "unchanged", "errors")} == {
        "added": 5,
        "updated": 0,
        "deleted": 0,
        "unchanged": 0,
        "errors": [],
    }
    for question in (QUESTION, "Ai la Truong Ban chi dao Chuong trinh so 06-Ctr/DUK?"):
        search = run("search", question, "--json")
        assert search.returncode == 0, search.stderr
        hits = json.loads(search.stdout)
        assert len(hits) == 5
        assert set(hits[0]) == {
            "rank",
            "doc_id",
            "title",
            "chunk_id",
            "score",
            "text",
            "start",
            "end",
        }
        assert hits[0]["doc_id"] == "000_cc43d066e58669a5.txt"
        assert hits[0]["title"] == (
            "Đảng uỷ Khối các cơ quan TP chủ động nâng cao chất lượng đảng viên"
        )
        original = (run.corpus / hits[0]["doc_id"]).read_text("utf-8")
        assert original[hits[0]["start"] : hits[0]["end"]] == hits[0]["text"]
    again = json.loads(run("ingest", "--json").stdout)
    assert (again["unchanged"], again["added"]) == (5, 0)


@pytest.mark.slow
def test_info_reports_the_bundled_fallback_in_one_warning(run):
    info = run("info", "--json", RAG_EMBEDDING_MODEL="intfloat/multilingual-e5-base")
    assert info.returncode == 0
    payload = json.loads(info.stdout)
    assert payload == {
        "documents": 0,
        "chunks": 0,
        "embedding_model": "e5-small-bundled",
        "embedding_fallback": True,
        "llm": None,
        "retrieval_mode": "hybrid",
        "data_dir": payload["data_dir"],
        "vectors_pending": 0,
        "corpus": None,
        "reader": "off",
    }
    lines = [line for line in info.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "intfloat/multilingual-e5-base" in lines[0]
    assert "Traceback" not in info.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("search", "   "), "Lỗi: Câu hỏi trống: hãy nhập một câu hỏi."),
        (("search", "x" * 100_000), "Lỗi: Câu hỏi quá dài (100,000 ký tự; tối đa 2,000)."),
        (("search", "Lê Minh Đức"), "Lỗi: Chỉ mục trống: hãy chạy `python -m rag ingest` trước."),
        (("ingest", "khong-co-thu-muc"), "Lỗi: Không tìm thấy đường dẫn: khong-co-thu-muc"),
        (
            ("search", "Lê Minh Đức", "--from", "31/02/2023"),
            "Lỗi: Từ ngày không hợp lệ: '31/02/2023' (dạng 17/02/2023 hoặc 2023-02-17)",
        ),
        (
            ("ask", "Lê Minh Đức", "--from", "2023-12-31", "--to", "17/02/2023"),
            "Lỗi: Khoảng ngày ngược: từ 31/12/2023 đến 17/02/2023",
        ),
        (("ask", "[1]"), f"Lỗi: {MARKERS_ONLY}"),
        (("search", " [2] ? "), f"Lỗi: {MARKERS_ONLY}"),
        (
            ("search", b"Ai l\xe0 Tr\xffu?"),
            "Lỗi: Câu hỏi có byte không phải UTF-8: hãy gõ lại câu hỏi.",
        ),
        (
            ("search", "Lê Minh Đức", "-k", "-3"),
            f"Lỗi: -k: {K_RANGE}, không phải '-3' {SEARCH_HELP}",
        ),
        (("search", "Lê Minh Đức", "-k", "0"), f"Lỗi: -k: {K_RANGE}, không phải '0' {SEARCH_HELP}"),
        (
            ("search", "Lê Minh Đức", "-k", "51"),
            f"Lỗi: -k: {K_RANGE}, không phải '51' {SEARCH_HELP}",
        ),
        (
            ("ask", "Lê Minh Đức", "-k", "abc"),
            f"Lỗi: -k: {K_RANGE}, không phải 'abc' (xem python -m rag ask -h)",
        ),
        (
            ("search", "Lê Minh Đức", "--mode", "vector"),
            "Lỗi: --mode: chọn một trong hybrid, dense, lexical, không phải 'vector' "
            + SEARCH_HELP,
        ),
        (("search",), f"Lỗi: thiếu câu-hỏi {SEARCH_HELP}"),
        (
            ("tim", "Lê Minh Đức"),
            "Lỗi: lệnh: không có 'tim' (chọn 'ingest', 'remove', 'search', 'ask', 'info') "
            "(xem python -m rag -h)",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(run, args, message):
    result = run(*args)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [message]


@pytest.mark.slow
def test_bad_files_are_named_and_nothing_indexed_is_lost(run, tmp_path):
    assert run("ingest").returncode == 0
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "anh.txt").write_bytes(b"\x00\x01\x02\xff" * 100)
    result = run("ingest", str(bad), "--json")
    assert result.returncode == 2
    assert json.loads(result.stdout)["errors"] == [
        {"path": "anh.txt", "reason": "không phải tệp văn bản"}
    ]
    info = json.loads(run("info", "--json").stdout)
    assert (info["documents"], info["chunks"] > 0) == (5, True)


@pytest.mark.slow
def test_a_document_or_outlet_the_index_lacks_is_one_line_and_exit_2(run):
    assert run("ingest").returncode == 0
    outlets = sorted({d.get("outlet") for d in _documents(run) if d.get("outlet")})
    doc = run("search", "Lê Minh Đức", "--doc", "khong-co.txt")
    outlet = run("ask", "Lê Minh Đức", "--outlet", "Báo Không Có")
    assert (doc.returncode, doc.stdout) == (2, "")
    assert doc.stderr == "Lỗi: --doc: không có tài liệu 'khong-co.txt' trong chỉ mục\n"
    assert (outlet.returncode, outlet.stdout) == (2, "")
    assert outlet.stderr == (
        f"Lỗi: --outlet: không có nguồn 'Báo Không Có' trong chỉ mục (có: {', '.join(outlets)})\n"
    )
    # A real outlet still filters: every hit is one of its articles.
    kept = run("search", "Chương trình", "--outlet", outlets[0], "-k", "3", "--json")
    assert kept.returncode == 0
    of_outlet = {d["doc_id"] for d in _documents(run) if d.get("outlet") == outlets[0]}
    hits = json.loads(kept.stdout)
    assert len(hits) == 3 and {h["doc_id"] for h in hits} <= of_outlet


def _documents(run) -> list[dict]:
    """The indexed documents' records, read the way the page reads them."""
    listing = run.python(
        "import json; from rag import Assistant; "
        "print(json.dumps([d.__dict__ for d in Assistant.from_settings().documents()]))"
    )
    return json.loads(listing.stdout)


def test_dates_in_the_page_forms_become_one_filter():
    from argparse import Namespace

    from rag.__main__ import _filters
    from rag.types import Filters

    args = Namespace(doc=None, outlet=None, date_from="17/2/2023", date_to=" 2023-02-17 ")
    assert _filters(args) == Filters(date_from="2023-02-17", date_to="2023-02-17")


# A command replaced in a fresh interpreter: what the user sees when it does this.
COMMAND_THAT = """
import logging, os, signal, sys, time
import rag.__main__ as cli

def command(args, settings):
{body}

cli.COMMANDS["info"] = command
sys.exit(cli.main(["info"]))
"""


def test_sigterm_stops_like_ctrl_c_with_one_line(run):
    body = "    os.kill(os.getpid(), signal.SIGTERM)\n    time.sleep(30)\n    return 0"
    result = run.python(COMMAND_THAT.format(body=body))
    assert (result.returncode, result.stderr) == (143, "Đã dừng.\n")


def test_a_warning_repeated_within_a_command_is_shown_once_on_one_line(run):
    body = (
        "    for _ in range(3):\n"
        "        logging.getLogger('embeddings').warning('Không tải được mô hình %r\\n(lý do)', 'x')\n"
        "    try:\n"
        "        1 / 0\n"
        "    except ZeroDivisionError:\n"
        "        logging.getLogger('rag').exception('Lỗi khi nhúng')\n"
        "    return 0"
    )
    result = run.python(COMMAND_THAT.format(body=body))
    assert (result.returncode, result.stderr) == (
        0,
        "Không tải được mô hình 'x' (lý do)\nLỗi khi nhúng\n",
    )


def test_progress_off_a_terminal_is_plain_lines(capsys):
    from rag.progress import progress_bars

    update, close = progress_bars(always=True)
    for done in range(9):
        update("load", done, 8)
    update("bm25", 1, 1)
    close()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "Đọc tệp: 0/8\nĐọc tệp: 2/8\nĐọc tệp: 4/8\nĐọc tệp: 6/8\nĐọc tệp: 8/8\nChỉ mục BM25: 1/1\n"
    )


@pytest.mark.slow
def test_cli_and_page_report_each_file_as_assistant_ingest_gives_it(run, monkeypatch):
    from app import ChatPage
    from rag import Assistant
    from rag.config import Settings
    from rag.types import FileOutcome

    (run.corpus / "anh.txt").write_bytes(b"\x00\x01\x02\xff" * 100)
    cli = run("ingest")
    assert cli.returncode == 0
    assert cli.stdout == "Thêm 5, cập nhật 0, xoá 0, giữ nguyên 0 tài liệu; chỉ mục có 50 đoạn.\n"
    assert cli.stderr == "Bỏ qua anh.txt: không phải tệp văn bản\n"

    # The same data folder, in this process: every file is now unchanged, the bad one refused.
    monkeypatch.setenv("RAG_CORPUS_DIR", str(run.corpus))
    assistant = Assistant.from_settings(Settings.from_env(dotenv=None))
    seeds = sorted(p.name for p in run.corpus.glob("0*.txt"))
    chunks = {d.doc_id: d.chunks for d in assistant.documents()}
    assert assistant.ingest(run.corpus).files == (
        *(FileOutcome(name, "unchanged", name, chunks[name]) for name in seeds),
        FileOutcome("anh.txt", "refused", "anh.txt", reason="không phải tệp văn bản"),
    )

    # The page's upload of a new version of a seed file (one paragraph more, one passage more):
    # updated, from the same outcomes.
    edited = run.corpus.parent / seeds[4]
    edited.write_text((run.corpus / seeds[4]).read_text("utf-8") + "\nĐoạn mới.\n", "utf-8")
    # Both files lie in the folder the page takes as Gradio's upload folder.
    page = ChatPage(assistant, upload_dir=run.corpus.parent)
    result, *_ = page.upload([str(edited), str(run.corpus / "anh.txt")])
    assert result == (
        f'<ul class="uploads"><li class="ok">✓ <code>{seeds[4]}</code>: đã cập nhật {seeds[4]} '
        f'({chunks[seeds[4]] + 1} đoạn)</li><li class="failed">✗ <code>anh.txt</code>: không phải '
        "tệp văn bản</li></ul>"
    )
    assistant.background.join(60)
