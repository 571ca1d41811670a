"""`ft-lab eval RUN_DIR` re-scores predictions; `ft-lab report` writes one self-contained HTML file."""
import json
import re

import pytest

from eval_run_builder import cls_examples, gen_examples, make_run
from ft_lab.cli import main

REFS = ["billing", "tech", "tech", "sales", "billing", "tech"] * 3
FT = ["billing", "tech", "sales", "sales", "billing", "billing"] * 3
BASE = ["tech", "tech", "sales", "billing", "billing", "billing"] * 3
META = [{"source": ["mail", "chat", "phone"][i % 3]} for i in range(18)]


def test_eval_rewrites_metrics_and_details(tmp_path, capsys):
    run = make_run(tmp_path, "classification", cls_examples(REFS, BASE, META), cls_examples(REFS, FT, META),
                   metrics={"base": {"loss": 2.0}, "finetuned": {"loss": 1.0, "accuracy": 0.0}, "headline": "accuracy"})
    assert main(["eval", str(run), "--quiet"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["headline"] == "accuracy"
    assert metrics["finetuned"]["accuracy"] == pytest.approx(sum(r == p for r, p in zip(REFS, FT)) / 18)
    assert metrics["finetuned"]["loss"] == 1.0 and metrics["base"]["loss"] == 2.0   # kept
    assert set(metrics["base"]) == {"loss", "accuracy", "macro_f1"}
    assert "finetuned" in capsys.readouterr().out
    assert main(["eval", str(run), "--evaluators", "precision_recall_f1,accuracy", "--quiet"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert "f1_weighted" in metrics["finetuned"] and "macro_f1" in metrics["finetuned"]
    details = json.loads((run / "eval_details.json").read_text())
    assert details["finetuned"]["precision_recall_f1"]["confusion_matrix"]["labels"] == ["billing", "sales", "tech"]
    assert not list(run.glob(".metrics.json.*"))   # no temporary file left behind


def test_eval_errors_are_user_errors(tmp_path, capsys):
    run = make_run(tmp_path, "classification", None, cls_examples(REFS, FT))
    assert main(["eval", str(run), "--evaluators", "acuracy"]) == 2
    assert "unknown evaluator 'acuracy'; did you mean 'accuracy'" in capsys.readouterr().err
    assert main(["eval", str(run), "--evaluators", "bleu"]) == 2
    assert "'bleu' does not apply to classification" in capsys.readouterr().err
    (run / "predictions" / "finetuned.jsonl").write_text('{"id": 0, "input": "x"}\n')
    assert main(["eval", str(run)]) == 2
    assert "finetuned.jsonl, line 1: example lacks field(s) reference, prediction" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "nope")]) == 2


def test_generation_eval_records_tokenizer(tmp_path):
    ft = gen_examples([("返品は？", "30日以内なら返品できます。", "30日以内は返品できます。"),
                       ("送料は？", "送料は500円です。", "無料です。")])
    run = make_run(tmp_path, "generation", None, ft, evaluate=["exact_match", "chrf", "bleu", "rouge", "perplexity"])
    main(["eval", str(run), "--quiet"])
    m = json.loads((run / "metrics.json").read_text())["finetuned"]
    assert {"exact_match", "exact_match_normalized", "chrf", "bleu", "rouge1", "rouge2", "rougeL", "perplexity"} <= set(m)
    d = json.loads((run / "eval_details.json").read_text())["finetuned"]
    assert d["bleu"]["tokenizer"] == "char" and d["bleu"]["language"] == "ja" and d["rouge"]["tokenizer"] == "cjk-char"


def test_report_is_self_contained_html(tmp_path):
    run = make_run(tmp_path, "classification", cls_examples(REFS, BASE, META), cls_examples(REFS, FT, META))
    main(["eval", str(run), "--quiet"])
    from ft_lab.analysis import ReviewStore
    ReviewStore(run).add(2, rating=3, comment="<b>odd</b>")
    out = tmp_path / "report.html"
    assert main(["report", str(run), "--out", str(out), "--worst", "5"]) == 0
    html = out.read_text(encoding="utf-8")
    for section in ("Metrics", "Base against fine-tuned", "Confusion matrix", "Per class", "Slices",
                    "by source", "Worst 5 examples", "Human review"):
        assert section in html, section
    assert not re.search(r"<script|<link|src=|@import|https?://", html)
    assert "<b>odd</b>" not in html
    assert html.count("<del>") >= 1 and "below overall" in html


def test_eval_works_on_a_run_copied_without_its_data(tmp_path):
    import shutil

    run = make_run(tmp_path, "classification", None, cls_examples(REFS, FT), evaluate=["macro_f1"],
                   metrics={"finetuned": {}})
    shutil.rmtree(run / "data")   # recipe.yaml now points at missing files: task and evaluators still read
    assert main(["eval", str(run), "--quiet"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert list(metrics["finetuned"]) == ["macro_f1"] and metrics["headline"] == "macro_f1"
