"""The evaluation's outputs: report.json, report.md, results.jsonl, PNG plots, screen summary.

In: the report dictionary (DESIGN.md's shape) and the per-question `Record`s. Out: files in one
folder and a compact table for the terminal. Plots use matplotlib's Agg backend (no display).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from eval.runner import Record

RETRIEVAL_KEYS = ("hit@1", "hit@3", "hit@5", "recall@5", "mrr@10", "ndcg@10")
ANSWER_KEYS = (
    "contains_reference",
    "token_f1",
    "exact_match",
    "citation_correct",
    "citation_supported",
    "abstain_precision",
    "abstain_recall",
    "span_exact_match",
    "span_f1",
    "short_exact_match",
    "short_f1",
)
SUMMARY_KEYS = (
    ("hit@1", "retrieval"),
    ("hit@5", "retrieval"),
    ("mrr@10", "retrieval"),
    ("contains_reference", "answer"),
    ("token_f1", "answer"),
    ("citation_correct", "answer"),
    ("abstain_precision", "answer"),
    ("abstain_recall", "answer"),
)
SHORT = {
    "contains_reference": "contains",
    "citation_correct": "cite_ok",
    "abstain_precision": "abst_P",
    "abstain_recall": "abst_R",
}


def fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def write_json(report: dict, folder: Path) -> Path:
    path = folder / "report.json"
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def write_results(by_mode: dict[str, list[Record]], folder: Path) -> Path:
    """Every question's answer and figures, one JSON line per question and mode."""
    path = folder / "results.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for records in by_mode.values():
            for r in records:
                row = {
                    "mode": r.mode,
                    **r.question.to_json(),
                    "standalone_question": r.answer.standalone_question,
                    "documents": list(r.documents[:10]),
                    "answer": r.answer.text,
                    "short_answer": r.short_answer,
                    "span": r.answer.span,
                    "abstained": r.answer.abstained,
                    "notice": r.answer.notice,  # e.g. why an LLM's answer was not shown
                    "cited": r.cited,
                    "timings_ms": {k: round(v, 2) for k, v in r.answer.timings_ms.items()},
                    "scores": r.scores(),
                }
                if r.judge:
                    row["judge"] = r.judge
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def _table(header: Sequence[str], rows: list[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _cell(text: str, limit: int = 160) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def write_markdown(
    report: dict, by_mode: dict[str, list[Record]], folder: Path, plots: Sequence[str] = ()
) -> Path:
    modes = report["modes"]
    lines = [
        f"# Evaluation: {report['dataset']}",
        "",
        f"{report['n_questions']} questions over {report['n_documents']} documents; "
        f"modes: {', '.join(modes)}.",
        "",
        "## Retrieval (answerable questions, document level)",
        "",
        *_table(
            ["mode", *RETRIEVAL_KEYS],
            [[m, *(fmt(s["retrieval"][k]) for k in RETRIEVAL_KEYS)] for m, s in modes.items()],
        ),
        "",
        "## Answers",
        "",
        *_table(
            ["mode", *ANSWER_KEYS, "mean words"],
            [
                [
                    m,
                    *(fmt(s["answer"][k]) for k in ANSWER_KEYS),
                    fmt(s["answer"]["mean_answer_words"], 1),
                ]
                for m, s in modes.items()
            ],
        ),
        "",
        "## Latency (ms)",
        "",
        *_table(
            ["mode", "retrieve p50", "retrieve p95", "answer p50", "answer p95"],
            [
                [
                    m,
                    *(
                        fmt(s["latency_ms"][k], 1)
                        for k in ("retrieve_p50", "retrieve_p95", "answer_p50", "answer_p95")
                    ),
                ]
                for m, s in modes.items()
            ],
        ),
        "",
    ]
    if any("judge" in s for s in modes.values()):
        lines += [
            "## LLM judge (RAGAS-style)",
            "",
            *_table(
                ["mode", "faithfulness", "answer relevance", "judged"],
                [
                    [
                        m,
                        fmt(s["judge"]["faithfulness"]),
                        fmt(s["judge"]["answer_relevance"]),
                        str(s["judge"]["n_judged"]),
                    ]
                    for m, s in modes.items()
                    if "judge" in s
                ],
            ),
            "",
        ]
    lines += _by_type(by_mode)
    lines += _by_source(modes)
    lines += _skipped(report.get("skipped_documents", []))
    for name in plots:
        lines += [f"![{name}]({name})", ""]
    for mode, records in by_mode.items():
        failing = [r for r in records if r.failed()]
        lines += [f"## Failing questions: {mode} ({len(failing)} of {len(records)})", ""]
        if not failing:
            lines += ["None.", ""]
        for r in failing:
            q = r.question
            expected = " / ".join(q.answers) if q.answers else "(abstain)"
            lines += [
                f"- **{q.id}** ({q.type or '—'}) {_cell(q.question, 300)}",
                f"  - expected: {_cell(expected)}; gold: {', '.join(q.doc_ids) or '—'}",
                f"  - retrieved: {', '.join(r.documents[:5]) or '—'}",
            ]
            if r.answer.standalone_question and r.answer.standalone_question != q.question:
                lines.append(f"  - standalone question: {_cell(r.answer.standalone_question, 300)}")
            lines.append(
                f"  - answered: {_cell(r.answer.text, 300)}"
                + (f" (span: {_cell(r.answer.span, 60)})" if r.answer.span else "")
            )
        lines.append("")
    path = folder / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _by_source(modes: dict) -> list[str]:
    """One table per mode: per article (SQuAD) or question type, worst hit@5 first, so the
    sources where retrieval fails are on top."""
    lines: list[str] = []
    for mode, section in modes.items():
        groups = section.get("by_source", {})
        if len(groups) < 2:
            continue
        order = sorted(
            groups.items(),
            key=lambda item: (item[1]["hit@5"] is None, item[1]["hit@5"] or 0.0, item[0]),
        )
        lines += [
            f"## By source: {mode} (article title or question type; figures over its answerable questions)",
            "",
            *_table(
                ["source", "n", "hit@5", "contains", "short_f1"],
                [
                    [
                        _cell(name, 80),
                        str(g["n"]),
                        fmt(g["hit@5"]),
                        fmt(g["contains_reference"]),
                        fmt(g["short_f1"]),
                    ]
                    for name, g in order
                ],
            ),
            "",
        ]
    return lines


def _by_type(by_mode: dict[str, list[Record]]) -> list[str]:
    """Reference contained (answerable) or abstained (unanswerable), by question type."""
    types = sorted({r.question.type or "—" for records in by_mode.values() for r in records})
    if len(types) < 2:
        return []
    rows = []
    for kind in types:
        row = [kind]
        for records in by_mode.values():
            chosen = [r for r in records if (r.question.type or "—") == kind]
            ok = sum(
                r.answer.abstained
                if not r.question.answerable
                else r.scores()["contains_reference"]
                for r in chosen
            )
            row.append(f"{int(ok)}/{len(chosen)}")
        rows.append(row)
    return [
        "## By question type (answer contains a reference; for unanswerable: abstained)",
        "",
        *_table(["type", *by_mode], rows),
        "",
    ]


def _skipped(skipped: list[dict]) -> list[str]:
    lines = [f"## Skipped documents ({len(skipped)})", ""]
    if not skipped:
        return [*lines, "None.", ""]
    return [*lines, *(f"- {_cell(d['doc_id'])}: {_cell(d['reason'])}" for d in skipped), ""]


def write_plots(report: dict, by_mode: dict[str, list[Record]], folder: Path) -> list[str]:
    """metrics.png (grouped bars per mode) and latency.png (per-stage distributions)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    modes = list(report["modes"])
    keys = [(k, "retrieval") for k in ("hit@1", "hit@5", "mrr@10", "ndcg@10")] + [
        (k, "answer")
        for k in (
            "contains_reference",
            "token_f1",
            "citation_correct",
            "abstain_precision",
            "abstain_recall",
        )
    ]
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / max(len(modes), 1)
    x = np.arange(len(keys))
    for i, mode in enumerate(modes):
        values = [report["modes"][mode][group][k] for k, group in keys]
        values = [np.nan if v is None else v for v in values]
        bars = ax.bar(x + (i - (len(modes) - 1) / 2) * width, values, width, label=mode)
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    ax.set_xticks(x, [SHORT.get(k, k) for k, _ in keys])
    ax.set_ylim(0, 1.1)
    ax.set_title(f"{report['dataset']}: metrics per retrieval mode")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(folder / "metrics.png", dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, stage in zip(axes, ("retrieve", "answer"), strict=True):
        data = [[r.answer.timings_ms.get(stage, 0.0) for r in by_mode[m]] for m in modes]
        ax.boxplot(data, showfliers=True)
        ax.set_xticks(range(1, len(modes) + 1), modes)
        ax.set_title(f"{stage} latency (ms)")
        ax.set_yscale("log")
    fig.suptitle(report["dataset"])
    fig.tight_layout()
    fig.savefig(folder / "latency.png", dpi=110)
    plt.close(fig)
    return ["metrics.png", "latency.png"]


def summary(report: dict, seconds: float | None = None) -> str:
    """One screen: a compact table, one row per mode."""
    header = ["mode", *(SHORT.get(k, k) for k, _ in SUMMARY_KEYS), "ret p50", "ans p50"]
    rows = []
    for mode, s in report["modes"].items():
        rows.append(
            [
                mode,
                *(fmt(s[group][k]) for k, group in SUMMARY_KEYS),
                fmt(s["latency_ms"]["retrieve_p50"], 1),
                fmt(s["latency_ms"]["answer_p50"], 1),
            ]
        )
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    out = [
        f"{report['dataset']}: {report['n_questions']} câu hỏi, {report['n_documents']} tài liệu"
        + (f", {seconds:.0f} giây" if seconds is not None else "")
    ]
    for row in [header, *rows]:
        out.append(
            "  ".join(
                str(c).rjust(w) if i else str(c).ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return "\n".join(out)
