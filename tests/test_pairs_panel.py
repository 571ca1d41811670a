"""The Errors step's preference pairs (issue 28): a wrong answer against the reference or a typed better
answer, a right answer against the base model's, written to the pairs file a DPO run reads; and a preference
run's pairs with the answers before and after. Run folders are written by hand (no training)."""
from __future__ import annotations

import json
from pathlib import Path

import ipywidgets  # noqa: F401  (a hard dependency: missing is a failure, not a skip)

from ft_lab.cli import main
from ft_lab.widgets.errors_panel import ErrorsPanel
from tests.eval_run_builder import cls_examples, make_run, write_jsonl


def _answers(right: bool) -> list[dict]:
    return [{"id": i, "input": f"What is {i} plus {i + 3}?", "reference": f"It is {2 * i + 3}.",
             "prediction": f"It is {2 * i + 3}." if right or i % 2 == 0 else f"Maybe {i * 7}."} for i in range(6)]


def _read(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_errors_view_turns_answers_into_pairs_that_a_dpo_run_reads(tmp_path, capsys):
    base = [{**a, "prediction": "No idea." if a["id"] != 4 else a["prediction"]} for a in _answers(right=True)]
    run = make_run(tmp_path / "runs", "generation", base, _answers(right=False), evaluate=["chrf"])
    panel = ErrorsPanel()
    panel.load(run)
    box = panel.pairs
    assert box.layout.display is None and box.out.value == f"pairs-{run.name}.jsonl"
    out = tmp_path / "pairs.jsonl"
    box.out.value = str(out)
    panel.correct.value = "all"
    panel.review_id.value = 1  # "Maybe 7." for "It is 5."
    box.prefer_reference.click()
    (row,) = _read(out)
    assert (row["prompt"], row["chosen"], row["rejected"]) == ("What is 1 plus 4?", "It is 5.", "Maybe 7.")
    assert (row["source_run"], row["example_id"], row["split"], row["chosen_by"], row["rejected_by"]) == (
        run.name, 1, "test", "reference", "model:finetuned")
    box.prefer_better.click()  # nothing typed: said, nothing written
    assert "type the better answer" in box.status.value and len(_read(out)) == 1
    panel.reviewer.value, box.better.value = "ana", "5, because 1 + 4 = 5."
    box.prefer_better.click()  # the same example again: its pair is replaced
    (row,) = _read(out)
    assert (row["chosen"], row["rejected"], row["chosen_by"]) == ("5, because 1 + 4 = 5.", "Maybe 7.", "person:ana")
    panel.review_id.value = 0  # right; the base model said "No idea."
    box.prefer_answer.click()
    assert _read(out)[-1] == {"prompt": "What is 0 plus 3?", "chosen": "It is 3.", "rejected": "No idea.",
                              "source_run": run.name, "example_id": 0, "split": "test", "chosen_by": "person:ana",
                              "rejected_by": "model:base"}
    panel.review_id.value = 4  # both models gave the same answer: no pair
    box.prefer_answer.click()
    assert "the same" in box.status.value and len(_read(out)) == 2
    # the ft-lab pairs file's own fields, and a DPO recipe prepares the file as it is
    assert main(["pairs", str(run), "--out", str(tmp_path / "cli.jsonl")]) == 0
    assert set(_read(out)[0]) <= set(_read(tmp_path / "cli.jsonl")[0])
    recipe = tmp_path / "dpo.yaml"
    recipe.write_text(f"task: generation\ndata: {{train: {out}, validation: {tmp_path / 'cli.jsonl'}}}\nmodel: {{max_length: 48}}\n"
                      "method: {name: lora, r: 4}\ntrain: {objective: dpo, max_steps: 2}\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["data", "prepare", str(recipe), "--out", str(tmp_path / "prepared")]) == 0, capsys.readouterr()
    assert "0 rejected" in capsys.readouterr().out
    prepared = [r for split in ("train", "test") for r in _read(tmp_path / "prepared" / f"{split}.jsonl")]
    assert {r["chosen"] for r in prepared} == {"5, because 1 + 4 = 5.", "It is 3."}
    classification = make_run(tmp_path / "runs", "classification", None, cls_examples(["a", "b"], ["a", "a"]),
                              name="clf")
    panel.load(classification)
    assert panel.pairs.layout.display == "none" and panel.preference.layout.display == "none"


def test_a_preference_run_shows_chosen_rejected_before_and_after(tmp_path):
    answers = _answers(right=False)
    run = make_run(tmp_path / "runs", "generation", [{**a, "prediction": "No idea."} for a in answers], answers,
                   metrics={"base": {}, "finetuned": {}, "headline": "chrf",
                            "preference": {"reward_accuracy": 0.75, "reward_margin": 0.125, "pairs": 6}})
    write_jsonl(run / "data" / "test.jsonl", [{"prompt": a["input"], "chosen": a["reference"],
                                               "rejected": f"Nobody knows ({a['id']})."} for a in answers])
    panel = ErrorsPanel()
    panel.load(run)
    view = panel.preference
    assert view.layout.display is None
    assert "reward accuracy 0.75" in view.figures.value and "reward margin 0.125" in view.figures.value
    assert view.table.value.count("<tr") == 7 and "Nobody knows (3)." in view.table.value
    assert "before (starting model)" in view.table.value and "after (tuned)" in view.table.value
    cells = [row.split("<td")[1:] for row in view.table.value.split("<tr")[2:]]
    assert [c.split(">", 1)[1].split("</td>")[0] for c in cells[0][:4]] == [
        "0", "What is 0 plus 3?", "It is 3.", "Nobody knows (0)."]
    assert "<del>" in cells[0][4] and cells[0][5].endswith(">It is 3.</td></tr>")  # before wrong, after = chosen
    assert "<del>Maybe</del>" in cells[1][5]  # example 1: the tuned "Maybe 7." against "It is 5."


def test_the_preference_view_pages_through_every_pair(tmp_path):
    answers = [{"id": i, "input": f"What is {i} plus 1?", "reference": f"It is {i + 1}.", "prediction": "No."}
               for i in range(60)]
    run = make_run(tmp_path / "runs", "generation", answers, answers, metrics={"base": {}, "finetuned": {}})
    write_jsonl(run / "data" / "test.jsonl", [{"prompt": a["input"], "chosen": a["reference"],
                                               "rejected": f"Nobody knows ({a['id']})."} for a in answers])
    panel = ErrorsPanel()
    panel.load(run)
    view = panel.preference

    def shown() -> tuple[str, list[str]]:
        return view.position.value, [c.split(">", 1)[1].split("</td>")[0]
                                     for c in (r.split("<td")[1] for r in view.table.value.split("<tr")[2:])]

    assert view.pager.layout.display is None and view.previous.disabled and not view.next.disabled
    assert shown() == ("pairs 1-25 of 60", [str(i) for i in range(25)])
    view.next.click()
    assert shown() == ("pairs 26-50 of 60", [str(i) for i in range(25, 50)])
    assert "Nobody knows (30)." in view.table.value and "Nobody knows (24)." not in view.table.value
    view.next.click()
    assert shown() == ("pairs 51-60 of 60", [str(i) for i in range(50, 60)]) and view.next.disabled
    view.next.click()  # at the end: stays
    assert shown()[0] == "pairs 51-60 of 60"
    view.previous.click()
    assert shown()[0] == "pairs 26-50 of 60" and not view.previous.disabled
    panel.load(run)  # a run loaded again starts at its first page
    assert shown()[0] == "pairs 1-25 of 60" and view.previous.disabled
