"""Built-ins are plugins in behaviour, not only in registration: a third-party component that declares what a
built-in declares (``masks_personal_data``, ``drops_empty_rows``, ``compares_pairs``, ``asks_model``,
``default_learning_rates``) gets exactly the treatment the built-in gets, because the core reads the
declaration and never the name."""
from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from eval_run_builder import fake_chat_endpoint, gen_examples, make_run, write_jsonl
from ft_lab import Baseline, Cleaner, CleanResult, Evaluator, Method, hookimpl
from ft_lab.core.plugins import KINDS, get_registry, register_plugin, unregister_plugin
from ft_lab.core.recipe import Recipe
from ft_lab.data.prepare import PreparedData, prepare_data
from ft_lab.errors import UserError
from ft_lab.evaluation.rescore import evaluate_run
from ft_lab.testing import check_component, checks_for, parametrize_with_checks

FIXTURES = Path(__file__).parent / "fixtures" / "data"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


# --- third-party components, written as a plugin author would ------------------------------------------
class MaskMail(Cleaner):
    """Mask e-mail addresses with <EMAIL> (a third-party PII cleaner)."""

    name = "mask_mail"
    masks_personal_data = True

    @dataclass
    class Config:
        placeholder: str = field(default="<EMAIL>", metadata={"help": "what replaces an address"})

    def mask_row(self, row, columns, found=None):
        out = dict(row)
        for c in columns:
            if isinstance(out.get(c), str):
                n = len(EMAIL.findall(out[c]))
                if n and found is not None:
                    found["EMAIL"] = found.get("EMAIL", 0) + n
                out[c] = EMAIL.sub(self.config.placeholder, out[c])
        return out if out != row else row

    def clean(self, rows, columns):
        out, changes, found = [], [], {}
        for i, row in enumerate(rows):
            new = self.mask_row(row, columns, found)
            if new is not row:
                changes.append({"index": i, "before": None, "after": new, "entities": ["EMAIL"]})
            out.append(new)
        return CleanResult(rows=out, changed=len(changes), info={"pii_found": found, "rows_with_pii": len(changes)},
                           changes=changes)


class DropBlank(Cleaner):
    """Drop rows with blank text (a third-party empty filter)."""

    name = "drop_blank"
    drops_empty_rows = True

    def clean(self, rows, columns):
        kept, rejected = [], []
        for row in rows:
            blank = [c for c in columns if not str(row.get(c) or "").strip()]
            (rejected.append((row, f"blank {', '.join(blank)}")) if blank else kept.append(row))
        return CleanResult(rows=kept, rejected=rejected)


class Prefers(Evaluator):
    """Share of examples where the fine-tuned answer is right and the base one wrong (a third-party pairwise evaluator)."""

    name = "prefers"
    compares_pairs = True
    tasks = ("generation",)

    def score(self, examples):
        if any("base_prediction" not in e for e in examples):
            raise UserError("prefers: examples lack 'base_prediction'")
        if not examples:
            return {"prefers_win_rate": float("nan")}
        won = sum(e["prediction"] == e["reference"] != e["base_prediction"] for e in examples)
        return {"prefers_win_rate": won / len(examples)}


class AsksBack(Evaluator):
    """Asks the model to repeat each input, and counts the exact repeats (a third-party scenario test)."""

    name = "asks_back"
    asks_model = True

    def score(self, examples):
        if self.responder is None:
            return {"asks_back": float("nan")}
        inputs = [str(e["input"]) for e in examples]
        answers = list(self.responder(inputs))
        return {"asks_back": sum(a == i for a, i in zip(answers, inputs)) / max(1, len(inputs))}


class FirstLabel(Baseline):
    """Answers every test example with the first training label (a third-party baseline)."""

    name = "first_label"
    tasks = ("classification",)

    def predict(self, train, test, context):
        return [train[0]["label"]] * len(test)


class SmallRate(Method):
    """Trains every weight, with its own learning-rate table (a third-party method)."""

    name = "small_rate"
    default_learning_rates = {"encoder": 1e-4, "causal": 3e-5, "small_causal": 7e-4}

    def prepare(self, model, task):
        return model


class Plugin:
    @hookimpl
    def register_cleaners(self, register):
        register(MaskMail)
        register(DropBlank)

    @hookimpl
    def register_evaluators(self, register):
        register(Prefers)
        register(AsksBack)

    @hookimpl
    def register_baselines(self, register):
        register(FirstLabel)

    @hookimpl
    def register_methods(self, register):
        register(SmallRate)


@pytest.fixture(autouse=True)
def third_party():
    name = register_plugin(Plugin(), "behaviour-test")
    yield get_registry()
    unregister_plugin(name)


# --- cleaners ----------------------------------------------------------------------------------------
@pytest.fixture
def tickets(tmp_path):
    src = tmp_path / "tickets.csv"
    shutil.copy(FIXTURES / "banking77_sample.csv", src)
    with src.open("a", encoding="utf-8") as f:  # a duplicate carrying PII, dropped before the masking runs
        f.write("Mail me at secret.person@example.com please,card_arrival\n")
        f.write("Mail me at secret.person@example.com please,card_arrival\n")
        f.write("Or write to other.person@example.org,card_arrival\n")
        f.write(",card_arrival\n")
    return src


def _prepare(tmp_path, src, clean, out_name):
    recipe = Recipe(task="classification", data={"path": str(src), "columns": {"label": "category"}},
                    clean=clean, base_dir=str(tmp_path))
    prepared = prepare_data(recipe)
    out = tmp_path / out_name
    prepared.write(out)
    return prepared, out


@pytest.mark.parametrize("masker", ["pii_mask", "mask_mail"])
def test_a_third_party_pii_cleaner_masks_where_pii_mask_does(tmp_path, tickets, masker):
    prepared, out = _prepare(tmp_path, tickets, ["empty_filter", "dedup", masker, "normalize"], masker)
    written = "".join(p.read_text(encoding="utf-8") for p in out.iterdir())
    # the duplicate was rejected by dedup before the masking cleaner ran: it is masked in rejected.jsonl too
    assert "secret.person" not in written and "other.person" not in written
    dup = next(r for r in prepared.rejected if r["cleaner"] == "dedup")
    assert dup["row"]["text"] == "Mail me at <EMAIL> please"
    # reported the same way: the step's count by type, summed in the report, and no originals kept
    assert prepared.report["pii_found"] == {"EMAIL": 2}
    step = next(s for s in prepared.report["steps"] if s["cleaner"] == masker)
    assert step["pii_found"] == {"EMAIL": 2} and step["rows_with_pii"] == 2 and step["changed"] == 2
    assert [c["before"] for c in prepared.changes if c["cleaner"] == masker] == [None, None]
    assert json.loads((out / "report.json").read_text(encoding="utf-8"))["pii_found"] == {"EMAIL": 2}
    assert "PII found by type" in (out / "report.html").read_text(encoding="utf-8")
    assert PreparedData.read(out).rejected == prepared.rejected


def test_the_same_data_comes_out_whichever_masks_it(tmp_path, tickets):
    def texts(prepared):
        return ([r["row"]["text"] for r in prepared.rejected],
                sorted(r["text"] for s in ("train", "validation", "test") for r in prepared.split(s)))

    builtin, _ = _prepare(tmp_path, tickets, ["empty_filter", "dedup", "pii_mask", "normalize"], "a")
    third, _ = _prepare(tmp_path, tickets, ["empty_filter", "dedup", "mask_mail", "normalize"], "b")
    assert texts(builtin) == texts(third)


@pytest.mark.parametrize("dropper", ["empty_filter", "drop_blank"])
def test_a_third_party_empty_filter_gets_the_empty_rows_to_drop(tmp_path, tickets, dropper):
    prepared, _ = _prepare(tmp_path, tickets, [dropper], dropper)
    assert [r["row"]["text"] for r in prepared.rejected if r["cleaner"] == dropper] == [""]


def test_without_a_declared_empty_filter_an_empty_row_is_refused(tmp_path, tickets):
    with pytest.raises(UserError, match="empty_filter"):
        _prepare(tmp_path, tickets, ["mask_mail"], "x")


# --- evaluators --------------------------------------------------------------------------------------
PAIRS = [("say hi", "hi", "hi"), ("say yo", "yo", "yo"), ("say no", "no", "nope")]
BASE = [("say hi", "hi", "hello"), ("say yo", "yo", "yo"), ("say no", "no", "no")]


def _judge(url):
    return {"name": "llm_judge", "endpoint": url, "mode": "pairwise"}


def _prefer_tuned(prompt):
    a = prompt.split("Answer A:\n")[1].split("\n")[0]
    return '{"winner": "A"}' if a in {"hi", "yo", "nope"} else '{"winner": "B"}'


@pytest.mark.parametrize("pairwise", ["llm_judge", "prefers"])
def test_a_third_party_pairwise_evaluator_is_scored_as_the_pairwise_judge(tmp_path, pairwise):
    with fake_chat_endpoint(_prefer_tuned) as (url, received):
        spec = _judge(url) if pairwise == "llm_judge" else "prefers"
        run = make_run(tmp_path, "generation", gen_examples(BASE), gen_examples(PAIRS), evaluate=[spec, "exact_match"])
        write_jsonl(run / "predictions" / "baseline_retrieval.jsonl", gen_examples(BASE))
        metrics = evaluate_run(run)
    key = "judge_win_rate" if pairwise == "llm_judge" else "prefers_win_rate"
    # once, on the fine-tuned side, with the base answers attached; never on the base side nor a baseline's
    assert key in metrics["finetuned"] and key not in metrics["base"]
    assert "exact_match" in metrics["base"] and "exact_match" in metrics["baselines"]["retrieval"]
    assert key not in metrics["baselines"]["retrieval"]
    if pairwise == "prefers":
        assert metrics["finetuned"][key] == pytest.approx(1 / 3)
    else:
        assert len(received) == len(PAIRS)


@pytest.mark.parametrize("pairwise", ["llm_judge", "prefers"])
def test_a_pairwise_evaluator_without_base_answers_is_refused_alike(tmp_path, pairwise):
    spec = _judge("http://127.0.0.1:9/v1") if pairwise == "llm_judge" else "prefers"
    run = make_run(tmp_path, "generation", None, gen_examples(PAIRS), evaluate=[spec])
    with pytest.raises(UserError, match=rf"{pairwise} compares .*base\.jsonl.*compare_base"):
        evaluate_run(run)


def test_a_single_mode_judge_declares_no_pairs():
    from ft_lab.evaluation.judge import LlmJudge

    assert LlmJudge(LlmJudge.Config(endpoint="http://x/v1")).compares_pairs is False
    assert LlmJudge(LlmJudge.Config(endpoint="http://x/v1", mode="pairwise")).compares_pairs is True


def test_a_third_party_evaluator_that_asks_the_model_gets_the_responder(tmp_path):
    run = make_run(tmp_path, "generation", gen_examples(BASE), gen_examples(PAIRS), evaluate=["asks_back", "exact_match"])
    write_jsonl(run / "predictions" / "baseline_retrieval.jsonl", gen_examples(BASE))
    metrics = evaluate_run(run, responders={"finetuned": lambda inputs: list(inputs)}, sides=("finetuned",))
    assert metrics["finetuned"]["asks_back"] == 1.0
    from ft_lab.evaluation.baseline_scores import score_rows

    evaluators = [get_registry().get("evaluator", n)() for n in ("asks_back", "exact_match")]
    scores, failed = score_rows(evaluators, gen_examples(BASE))
    assert "asks_back" not in scores and not failed and "exact_match" in scores


# --- methods -----------------------------------------------------------------------------------------
def test_a_third_party_rate_table_with_small_causal_is_used_as_loras(banking_csv):
    from transformers import LlamaConfig

    from ft_lab.training.defaults import LEARNING_RATES, resolve_defaults

    small = LlamaConfig(architectures=["LlamaForCausalLM"], hidden_size=576, intermediate_size=1536,
                        num_hidden_layers=30, vocab_size=49152)
    large = LlamaConfig(architectures=["LlamaForCausalLM"], hidden_size=4096, intermediate_size=11008,
                        num_hidden_layers=32, vocab_size=32000)
    for method, table in (("lora", LEARNING_RATES["lora"]), ("small_rate", SmallRate.default_learning_rates)):
        recipe = Recipe.from_dict({"task": "classification", "method": method, "model": {"max_length": 32},
                                   "data": {"path": str(banking_csv), "columns": {"label": "category"}}}).resolved()
        data = prepare_data(recipe)
        rates = [resolve_defaults(recipe, data, config=c, tokenizer=object())[0].train.learning_rate
                 for c in (small, large)]
        assert rates == [table["small_causal"], table["causal"]], method


# --- the conformance kit -----------------------------------------------------------------------------
@parametrize_with_checks([MaskMail, DropBlank, Prefers, AsksBack, FirstLabel])
def test_third_party_components_pass_the_kit(component, check):
    check(component)


def test_the_kit_checks_baselines_and_declarations():
    names = {c.__name__ for c in checks_for(FirstLabel)}
    assert {"check_baseline_declarations", "check_baseline_answers_every_test_example"} <= names
    assert "check_cleaner_masking_is_declared_and_honoured" in {c.__name__ for c in checks_for(MaskMail)}

    class NoMaskRow(DropBlank):
        """Says it masks personal data, and has no mask_row."""

        name = "no_mask_row"
        masks_personal_data = True
        drops_empty_rows = False

    class KeepsBlanks(Cleaner):
        """Says it drops empty rows, and keeps every row."""

        name = "keeps_blanks"
        drops_empty_rows = True

        def clean(self, rows, columns):
            return CleanResult(rows=list(rows))

    class KeepsOriginals(MaskMail):
        """Keeps the originals of the rows it masks."""

        name = "keeps_originals"

        def clean(self, rows, columns):
            result = super().clean(rows, columns)
            result.changes = [{**c, "before": rows[c["index"]]} for c in result.changes]
            return result

    class WrongFlag(Prefers):
        """Declares a flag that is not a boolean."""

        name = "wrong_flag"
        compares_pairs = "yes"

    class ShortAnswers(FirstLabel):
        """Answers one test example only."""

        name = "short_answers"
        default = "yes"

        def predict(self, train, test, context):
            return [train[0]["label"]]

    with pytest.raises(AssertionError, match="must implement mask_row"):
        check_component(NoMaskRow)
    with pytest.raises(AssertionError, match="drops_empty_rows is True: clean must reject"):
        check_component(KeepsBlanks)
    with pytest.raises(AssertionError, match="keeps personal data"):
        check_component(KeepsOriginals)
    with pytest.raises(AssertionError, match="compares_pairs must be True, False or a property"):
        check_component(WrongFlag)
    with pytest.raises(AssertionError, match="default must be True or False"):
        check_component(ShortAnswers)
    ShortAnswers.default = False
    with pytest.raises(AssertionError, match="one answer per test example"):
        check_component(ShortAnswers)


def test_a_masking_cleaner_without_mask_row_is_refused_at_registration(monkeypatch):
    class Broken(Cleaner):
        """Declares masking, cannot mask a row."""

        name = "broken_masker"
        masks_personal_data = True

        def clean(self, rows, columns):
            return CleanResult(rows=list(rows))

    class BrokenPlugin:
        @hookimpl
        def register_cleaners(self, register):
            register(Broken)

    name = register_plugin(BrokenPlugin(), "broken-masker-test")
    try:
        reg = get_registry()
        assert "broken_masker" not in reg.names("cleaner")
        assert any("mask_row" in b["error"] for b in reg.broken)
    finally:
        unregister_plugin(name)


# --- one table of kinds ------------------------------------------------------------------------------
def test_one_table_of_kinds():
    import ft_lab.core.components as components
    from ft_lab.cli import docgen
    from ft_lab.testing import BY_KIND

    assert not hasattr(components, "BASES") and not hasattr(docgen, "KIND_TITLES")
    assert set(BY_KIND) == {k.name for k in KINDS}
    text = docgen.render()
    assert [line[3:] for line in text.splitlines() if line[3:] in {k.title for k in KINDS}] == [k.title for k in KINDS]


def test_a_third_party_evaluator_that_calls_a_model_is_left_out_of_error_analysis(tmp_path):
    from ft_lab.analysis.examples import ExampleSet, cheap
    from ft_lab.evaluation.judge import LlmJudge

    class Costly(Evaluator):
        """Would call a judge model for every example."""

        name = "costly"
        calls_model = True

        def score(self, examples):
            raise AssertionError("error analysis must not call the model again")

    judge = LlmJudge(LlmJudge.Config(endpoint="http://127.0.0.1:9/v1"))
    kept = cheap([judge, Costly(), AsksBack()])
    assert [type(ev) for ev in kept] == [AsksBack]
    extra = type("CostlyPlugin", (), {"register_evaluators": hookimpl(lambda self, register: register(Costly))})
    name = register_plugin(extra(), "costly-test")
    try:
        run = make_run(tmp_path, "generation", None, gen_examples(PAIRS), evaluate=["costly", "exact_match"])
        ex = ExampleSet.from_run(run)
        assert len(ex) == len(PAIRS)
    finally:
        unregister_plugin(name)
