"""scenarios: regression cases answered from the test set, a fake endpoint, or a tiny local model."""
import pytest

from eval_run_builder import fake_chat_endpoint, gen_examples, tiny_fixed_output_model
from ft_lab.errors import UserError
from ft_lab.evaluation.scenarios import Scenarios, check_answer
from ft_lab.core.recipe import RecipeError

CASES_YAML = """
- name: refund window
  input: 返品できますか
  must_contain: [30日]
  must_not_contain: [できません]
  regex: "\\\\d+日以内"
- name: short answer
  input: 送料は？
  max_length: 10
- name: off-set question
  input: 営業時間は？
  must_contain: 9時
"""

EXAMPLES = gen_examples([("返品できますか", "30日以内なら返品できます。", "到着後30日以内であれば返品できます。"),
                         ("送料は？", "500円です。", "送料は全国一律で500円となっております。")])


def test_cases_from_file_pass_fail_per_case(tmp_path):
    path = tmp_path / "cases.yaml"
    path.write_text(CASES_YAML, encoding="utf-8")
    ev = Scenarios(Scenarios.Config(path=str(path)))
    out = ev.score(EXAMPLES)
    cases = {c["name"]: c for c in ev.details(EXAMPLES)["cases"]}
    assert cases["refund window"]["passed"] and cases["refund window"]["source"] == "test set"
    assert not cases["short answer"]["passed"]
    assert "more than max_length 10" in cases["short answer"]["failures"][0]
    assert not cases["off-set question"]["passed"]
    assert "no model answers it" in cases["off-set question"]["failures"][0]
    assert out == {"scenario_pass_rate": pytest.approx(1 / 3), "scenarios_failed": 2.0, "scenarios_total": 3.0}


def test_missing_inputs_answered_by_endpoint_and_responder():
    replies = {"営業時間は？": "平日9時から18時までです。", "Reset password?": "Please contact IT."}
    with fake_chat_endpoint(lambda p: replies.get(p, 500)) as (url, received):
        ev = Scenarios(Scenarios.Config(endpoint=url, cases=[
            {"input": "営業時間は？", "must_contain": ["9時"], "regex": "18時"},
            {"input": "Reset password?", "must_not_contain": ["contact it"], "ignore_case": True},
            {"input": "返品できますか", "label": "到着後30日以内であれば返品できます。"}]))
        out = ev.score(EXAMPLES)
    assert len(received) == 2     # the third case is answered by the test set's prediction
    assert [c["passed"] for c in ev.details(EXAMPLES)["cases"]] == [True, False, True]
    assert out["scenarios_failed"] == 1.0
    ev = Scenarios(Scenarios.Config(cases=[{"input": "hello", "must_contain": "HELLO"}]))
    ev.responder = lambda inputs: [s.upper() for s in inputs]
    assert ev.score([])["scenario_pass_rate"] == 1.0


def test_local_tiny_model_answers(tmp_path):
    model = tiny_fixed_output_model(tmp_path / "m", "5")
    ev = Scenarios(Scenarios.Config(model=str(model), max_new_tokens=3, cases=[
        {"name": "digits", "input": "a b c", "regex": r"^5( 5)*$", "max_length": 10},
        {"name": "forbidden", "input": "d e", "must_not_contain": "5"}]))
    ev.score([])
    got = {c["name"]: c for c in ev.details([])["cases"]}
    assert got["digits"]["passed"] and got["digits"]["source"] == "generated"
    assert got["forbidden"]["failures"] == ["contains forbidden '5'"]


def test_check_answer_expectations():
    case = {"input": "x", "must_contain": ["A"], "must_not_contain": "B", "regex": r"^\w+$", "label": "AC",
            "max_length": 1}
    assert check_answer(case, "AC") == ["2 characters, more than max_length 1"]
    assert check_answer({**case, "max_length": 5}, "AC") == []
    assert len(check_answer(case, "B C")) == 5


def test_bad_cases_name_the_file_case_and_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("- input: hi\n  must_contian: [x]\n- name: nothing\n  input: yo\n- regex: '('\n  input: z\n",
                    encoding="utf-8")
    with pytest.raises(UserError) as exc:
        Scenarios(Scenarios.Config(path=str(path))).score([])
    msg = str(exc.value)
    assert f"{path}, case 1: unknown field(s) must_contian" in msg
    assert "case 2 (nothing): no expectation" in msg
    assert "case 3: regex '(' is not a valid regular expression" in msg
    with pytest.raises(UserError, match="file not found"):
        Scenarios(Scenarios.Config(path=str(tmp_path / "none.yaml"))).score([])
    with pytest.raises(ValueError, match="no cases"):
        Scenarios.Config()  # refused when the recipe is validated, before any training
    with pytest.raises(RecipeError, match=r"evaluate\[0\].*case 1: 'input' is required"):
        from eval_run_builder import make_run
        make_run(tmp_path, "generation", None, EXAMPLES, evaluate=[{"name": "scenarios", "cases": [{"label": "x"}]}])
