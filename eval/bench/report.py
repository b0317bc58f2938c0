"""The benchmark's report: markdown tables, the latency plot and one summary line per size.

In: the report dictionary that `eval.bench.run` writes as report.json. Out: report.md text,
latency.png, a line for stderr. Never measures anything.
"""

from __future__ import annotations

from pathlib import Path


def summary_line(size: int, r: dict) -> str:
    line = (
        f"{size:>7} đoạn: nạp {r['ingest']['chars_per_s']:,} ký tự/s, "
        f"lexical p50 {r['search']['lexical']['p50_ms']} ms, "
        f"trả lời p50 {r['answer']['hybrid']['p50_ms']} ms"
    )
    if "baseline" in r:
        line += f", BM25Retriever p50 {r['baseline']['p50_ms']} ms (x{r['baseline']['ratio_p50']})"
    return line


def render_markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        "# Benchmark",
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory_gb']} GB, Python {m['python']}.",
        f"Command: `{report['command']}`",
        "",
        "| passages | ingest chars/s | ingest s | re-ingest s (embedded) | lexical p50/p95 ms "
        "| dense p50/p95 ms | hybrid p50/p95 ms | ask p50/p95 ms (hybrid) | BM25Retriever p50/p95 ms "
        "| speed-up p50 | hit@5 ours / baseline | start-up ready / answered s | peak RSS MB "
        "| disk MB |",
        "| " + " | ".join(["---"] * 14) + " |",
    ]
    for r in report["sizes"].values():
        s, b = r["search"], r.get("baseline")
        st = r.get("startup", {})
        lines.append(
            "| "
            + " | ".join(
                [
                    f"{r['passages']:,}",
                    f"{r['ingest']['chars_per_s']:,}",
                    f"{r['ingest']['seconds']}",
                    f"{r['reingest']['seconds']} ({r['reingest']['embedded']})",
                    f"{s['lexical']['p50_ms']} / {s['lexical']['p95_ms']}",
                    f"{s['dense']['p50_ms']} / {s['dense']['p95_ms']}",
                    f"{s['hybrid']['p50_ms']} / {s['hybrid']['p95_ms']}",
                    f"{r['answer']['hybrid']['p50_ms']} / {r['answer']['hybrid']['p95_ms']}",
                    f"{b['p50_ms']} / {b['p95_ms']}" if b else "-",
                    f"{b['ratio_p50']}x" if b else "-",
                    f"{s['lexical']['hit@5']} / {b['hit@5']}" if b else f"{s['lexical']['hit@5']}",
                    f"{st.get('ready_s', '-')} / {st.get('answered_s', '-')}",
                    f"{r['rss_mb']['after_queries']}",
                    f"{r['disk_mb']['chroma'] + r['disk_mb']['snapshot']:.0f}",
                ]
            )
            + " |"
        )
    lines += [
        "",
        "Ingest stages (seconds):",
        "",
        "| passages | " + " | ".join(_stage_names(report)) + " |",
    ]
    lines.append("| " + " | ".join(["---"] * (1 + len(_stage_names(report)))) + " |")
    for r in report["sizes"].values():
        st = r["ingest"]["stages_s"]
        lines.append(
            f"| {r['passages']:,} | "
            + " | ".join(str(st.get(k, "-")) for k in _stage_names(report))
            + " |"
        )
    lines += ["", "Retrieval quality (hit@1 / hit@5 / hit@5 on accented queries):", ""]
    lines += [
        "| passages | lexical | dense | hybrid | BM25Retriever |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in report["sizes"].values():
        cells = [
            f"{r['search'][m]['hit@1']} / {r['search'][m]['hit@5']} / {r['search'][m]['hit@5_accented']}"
            for m in ("lexical", "dense", "hybrid")
        ]
        b = r.get("baseline")
        cells.append(f"{b['hit@1']} / {b['hit@5']} / {b['hit@5_accented']}" if b else "-")
        lines.append(f"| {r['passages']:,} | " + " | ".join(cells) + " |")
    if "embedding_check" in report:
        e = report["embedding_check"]
        lines += [
            "",
            f"Embedding overhead ({e['model']}, {e['texts']} texts): texts/s {e['texts_per_s']}, "
            f"overhead vs encode {e['overhead']}, same vectors: {e['same_vectors']}.",
        ]
    lines += _model_section(report)
    return "\n".join(lines) + "\n"


def _model_section(report: dict) -> list[str]:
    """With `--embedding` other than hashing: that model beside hashing, same corpus and run."""
    rows = [r for r in report["sizes"].values() if "hashing" in r]
    if not rows:
        return []
    lines = [
        "",
        f"{rows[0]['embedding_model']} against hashing on the same corpus, same run "
        "(p50 / p95 ms; in brackets the p50 of the queries typed with diacritics, the only ones "
        "hybrid embeds):",
        "",
        "| passages | words per passage | model | lexical | dense | hybrid search | ask (hybrid) "
        "| query embedding | vectors: embedded this run, chars/s (per CPU-s) over all runs |",
        "| " + " | ".join(["---"] * 9) + " |",
    ]
    for r in rows:
        for name, m in ((r["embedding_model"], r), ("hashing", r["hashing"])):
            s, a = m["search"], m["answer"]["hybrid"]
            q = m.get("query_embedding")
            v = m.get("vectors", {})
            model = v.get("model", {})
            lines.append(
                "| "
                + " | ".join(
                    [
                        f"{m['passages']:,}",
                        f"{m['passage_words']}",
                        name,
                        f"{s['lexical']['p50_ms']} / {s['lexical']['p95_ms']}",
                        f"{s['dense']['p50_ms']} / {s['dense']['p95_ms']}",
                        f"{s['hybrid']['p50_ms']} / {s['hybrid']['p95_ms']} "
                        f"({s['hybrid']['p50_ms_accented']})",
                        f"{a['p50_ms']} / {a['p95_ms']} ({a['p50_ms_accented']})",
                        f"{q['p50_ms']} / {q['p95_ms']}" if q else "-",
                        f"{v['embedded']:,}, {model.get('chars_per_s') or '-'} "
                        f"({model.get('chars_per_cpu_s') or '-'})"
                        if v
                        else "-",
                    ]
                )
                + " |"
            )
        ratio = r["ratio_to_hashing"]
        lines.append(
            f"| | | ratio | {ratio['search_lexical_p50']}x | {ratio['search_dense_p50']}x "
            f"| {ratio['search_hybrid_p50']}x | {ratio['answer_hybrid_p50']}x | | |"
        )
    return lines


def _stage_names(report: dict) -> list[str]:
    names: list[str] = []
    for r in report["sizes"].values():
        names += [k for k in r["ingest"]["stages_s"] if k not in names]
    return names


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(report["sizes"].values())
    x = [r["passages"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    series = [
        ("ours, lexical", [r["search"]["lexical"]["p50_ms"] for r in rows], "o-"),
        (
            f"ours, dense ({rows[0].get('embedding_model', 'hashing')})",
            [r["search"]["dense"]["p50_ms"] for r in rows],
            "s-",
        ),
        ("ours, hybrid", [r["search"]["hybrid"]["p50_ms"] for r in rows], "^-"),
        ("ours, Assistant.ask (hybrid)", [r["answer"]["hybrid"]["p50_ms"] for r in rows], "D-"),
    ]
    if all("baseline" in r for r in rows):
        series.append(("LangChain BM25Retriever", [r["baseline"]["p50_ms"] for r in rows], "x--"))
    for label, y, style in series:
        ax.plot(x, y, style, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("passages")
    ax.set_ylabel("p50 latency per query (ms)")
    ax.set_title("Query latency against corpus size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
