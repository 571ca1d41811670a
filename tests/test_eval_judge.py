"""llm_judge against a fake OpenAI-compatible endpoint on 127.0.0.1 and a tiny local model."""
import json
import math

import pytest

from eval_run_builder import fake_chat_endpoint, gen_examples, tiny_fixed_output_model
from ft_lab.errors import UserError
from ft_lab.evaluation.judge import LlmJudge, parse_score, parse_winner

EXAMPLES = gen_examples([("q-json", "ref", "ans0"), ("q-text", "ref", "ans1"), ("q-garbage", "ref", "ans2"),
                         ("q-500", "ref", "ans3"), ("q-range", "ref", "ans4")])


def _reply(prompt):
    if "q-json" in prompt:
        return 'Sure. {"score": 5, "reason": "matches"}'
    if "q-text" in prompt:
        return "The answer is partly right.\nScore: 3"
    if "q-garbage" in prompt:
        return "I cannot decide."
    if "q-500" in prompt:
        return 500
    return "Rating: 9"


@pytest.mark.parametrize("reply,expected", [('{"score": 4}', 4), ("Score: ４", 4), ("**Rating:** 2/5", 2),
                                            ("3/5", 3), ("[[5]]", 5), ("4", 4), ("評価: 3点", 3),
                                            ('```json\n{"Score": "2", "reason": "x"}\n```', 2)])
def test_parse_score_forms(reply, expected):
    assert parse_score(reply, 1, 5) == expected


def test_parse_failures_say_why():
    with pytest.raises(ValueError, match="no score found"):
        parse_score("great answer", 1, 5)
    with pytest.raises(ValueError, match="outside 1-5"):
        parse_score("score: 8", 1, 5)
    assert parse_winner('{"winner": "B"}') == "B"
    assert parse_winner("[[A]]") == "A"
    assert parse_winner("Winner: tie") == "tie"
    with pytest.raises(ValueError, match="no winner"):
        parse_winner("both are fine I guess")


def test_endpoint_judge_records_failures_and_hides_key(monkeypatch):
    monkeypatch.setenv("FT_LAB_TEST_JUDGE_KEY", "sk-secret-123")
    with fake_chat_endpoint(_reply, expect_key="sk-secret-123") as (url, received):
        judge = LlmJudge(LlmJudge.Config(endpoint=url, endpoint_model="judge-1",
                                         api_key_env="FT_LAB_TEST_JUDGE_KEY", max_retries=1))
        out = judge.score(EXAMPLES)
        det = judge.details(EXAMPLES)           # cached: no second round of requests
        per = judge.per_example(EXAMPLES)
    assert out["judge_score"] == pytest.approx(4.0)         # (5 + 3) / 2
    assert out["judge_failed"] == pytest.approx(3 / 5)
    recs = {r["id"]: r for r in det["judgements"]}
    assert recs[0]["score"] == 5 and recs[1]["score"] == 3
    assert "unparseable reply: no score found" in recs[2]["error"]
    assert "request failed: HTTP 500" in recs[3]["error"]
    assert "outside 1-5" in recs[4]["error"]
    assert per[:2] == [5, 3] and math.isnan(per[2])
    # 5 examples, the HTTP 500 one retried once; all sent with the key in the header only
    assert len(received) == 6
    assert all(r["auth"] == "Bearer sk-secret-123" and r["body"]["model"] == "judge-1" for r in received)
    assert "sk-secret-123" not in json.dumps(det) and "sk-secret-123" not in repr(judge.config)


def test_wrong_key_or_missing_key_is_a_user_error(monkeypatch):
    monkeypatch.setenv("FT_LAB_TEST_JUDGE_KEY", "wrong")
    with fake_chat_endpoint(_reply, expect_key="right") as (url, _):
        judge = LlmJudge(LlmJudge.Config(endpoint=url, api_key_env="FT_LAB_TEST_JUDGE_KEY"))
        with pytest.raises(UserError, match=r"HTTP 401.*\$FT_LAB_TEST_JUDGE_KEY") as exc:
            judge.score(EXAMPLES[:1])
        assert "wrong" not in str(exc.value)
    monkeypatch.delenv("FT_LAB_TEST_JUDGE_KEY")
    with pytest.raises(UserError, match="FT_LAB_TEST_JUDGE_KEY is not set"):
        LlmJudge(LlmJudge.Config(endpoint="http://127.0.0.1:9/v1", api_key_env="FT_LAB_TEST_JUDGE_KEY")).score(EXAMPLES)


def test_unreachable_endpoint_fails_per_example_not_fatal():
    judge = LlmJudge(LlmJudge.Config(endpoint="http://127.0.0.1:9/v1", max_retries=0, timeout=2))
    out = judge.score(EXAMPLES[:2])
    assert out["judge_failed"] == 1.0 and math.isnan(out["judge_score"])


def test_pairwise_swaps_order_and_maps_winner():
    ex = [dict(e, base_prediction=f"BASE{i}", prediction=f"TUNED{i}") for i, e in enumerate(EXAMPLES[:4])]

    def prefer_tuned(prompt):
        a = prompt.split("Answer A:\n")[1].split("\n")[0]
        return '{"winner": "A"}' if a.startswith("TUNED") else "[[B]]"

    with fake_chat_endpoint(prefer_tuned) as (url, received):
        judge = LlmJudge(LlmJudge.Config(endpoint=url, mode="pairwise"))
        out = judge.score(ex)
    assert out == {"judge_failed": 0.0, "judge_win_rate": 1.0, "judge_tie_rate": 0.0, "judge_loss_rate": 0.0}
    firsts = [r["body"]["messages"][-1]["content"].split("Answer A:\n")[1][:4] for r in received]
    assert firsts == ["BASE", "TUNE", "BASE", "TUNE"]   # position alternates
    with pytest.raises(UserError, match="base_prediction"):
        LlmJudge(LlmJudge.Config(endpoint=url, mode="pairwise")).score(EXAMPLES[:1])


def test_config_checks():
    with pytest.raises(ValueError, match="placeholder"):
        LlmJudge.Config(endpoint="http://x", rubric="Rate it: {input}")
    with pytest.raises(ValueError, match="exactly one of `model`"):
        LlmJudge.Config()
    from ft_lab.core import configs
    _, problems = configs.build(LlmJudge.Config, {"model": "m", "endpoint": "http://x"}, "evaluate[0]")
    assert problems == ["evaluate[0]: give exactly one of `model` (a hub id or local folder) or `endpoint` "
                        "(an OpenAI-compatible URL)"]
    with pytest.raises(UserError, match="http"):
        LlmJudge(LlmJudge.Config(endpoint="127.0.0.1:8000")).score(EXAMPLES)


def test_local_tiny_model_judge(tmp_path):
    good = tiny_fixed_output_model(tmp_path / "says5", "5")
    judge = LlmJudge(LlmJudge.Config(model=str(good), max_new_tokens=1))
    out = judge.score(EXAMPLES[:3])
    assert out == {"judge_failed": 0.0, "judge_score": 5.0}
    bad = tiny_fixed_output_model(tmp_path / "saysx", "x")
    judge = LlmJudge(LlmJudge.Config(model=str(bad), max_new_tokens=2))
    out = judge.score(EXAMPLES[:3])
    assert out["judge_failed"] == 1.0
    assert all(r["reply"].startswith("x") and "unparseable" in r["error"]
               for r in judge.details(EXAMPLES[:3])["judgements"])
    with pytest.raises(UserError, match="cannot load"):
        LlmJudge(LlmJudge.Config(model=str(tmp_path / "nope"))).score(EXAMPLES[:1])
