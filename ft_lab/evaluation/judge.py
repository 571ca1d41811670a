"""``llm_judge``: a judge model grades each answer with a rubric, or picks the better of two answers.

The judge is a local model (``model``: hub id or folder) or an OpenAI-compatible endpoint
(``endpoint`` + ``endpoint_model``; the key is read from the environment variable named by
``api_key_env``, never from the recipe). Replies are parsed leniently (JSON, "Score: 4", "4/5",
"[[A]]", a bare number); a reply that cannot be parsed, or a request that fails, is recorded as a
failed judgement for that example and the rest go on::

    judge = LlmJudge(LlmJudge.Config(endpoint="http://127.0.0.1:8000/v1", endpoint_model="judge"))
    judge.score(examples)                # {'judge_score': 4.2, 'judge_failed': 0.1}
    judge.details(examples)["judgements"][0]  # {'id': 0, 'score': 5.0, 'reply': '...', 'error': None}

Pairwise mode compares the base model's answer (``base_prediction`` in each example; ``ft-lab eval``
and ``compare.attach_base`` add it) against the fine-tuned one, swapping the order on every other
example so that a judge's position bias cancels out.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal, Optional

from ..core.components import Evaluator
from ..errors import UserError
from .llm_backends import make_backend

SINGLE_RUBRIC = """You are grading an answer. Compare it with the reference answer and rate it from {min_score} to {max_score} for correctness and helpfulness ({max_score} = fully correct, {min_score} = wrong or unhelpful).

Question:
{input}

Reference answer:
{reference}

Answer to grade:
{prediction}

Reply with JSON only: {"score": <integer from {min_score} to {max_score}>, "reason": "<one sentence>"}"""

PAIRWISE_RUBRIC = """You are comparing two answers to the same question. Decide which one is more correct and helpful, using the reference answer as a guide.

Question:
{input}

Reference answer:
{reference}

Answer A:
{answer_a}

Answer B:
{answer_b}

Reply with JSON only: {"winner": "A" or "B" or "tie", "reason": "<one sentence>"}"""

_PLACEHOLDER = re.compile(r"\{(input|reference|prediction|answer_a|answer_b|min_score|max_score)\}")
_NUM = r"(-?\d+(?:\.\d+)?)"


def fill(template: str, **values) -> str:
    """Replace ``{input}``, ``{reference}``, ``{prediction}``, ... leaving every other brace alone."""
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), template)


def _json_objects(text: str):
    for m in re.finditer(r"\{[^{}]*\}", text, re.DOTALL):
        try:
            obj = json.loads(m.group(0))
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            yield {str(k).lower(): v for k, v in obj.items()}


def parse_score(reply: str, lo: float, hi: float) -> float:
    """The score in a judge's reply; raises ValueError saying why when there is none in [lo, hi]."""
    text = unicodedata.normalize("NFKC", str(reply)).strip()
    candidates: list[float] = []
    for obj in _json_objects(text):
        for key in ("score", "rating", "grade"):
            if key in obj:
                try:
                    candidates.append(float(obj[key]))
                except (TypeError, ValueError):
                    pass
    patterns = [r"\[\[\s*" + _NUM + r"\s*\]\]",
                r"(?:score|rating|grade|評価|点数|スコア|得点)\s*(?:is|は)?\s*[:=]?\s*\**\s*" + _NUM,
                _NUM + r"\s*(?:/|out of)\s*" + _NUM,
                r"^\**" + _NUM + r"\**\s*(?:点)?[.。!]?$"]
    for pat in patterns:
        m = re.search(pat, text, re.IGNORECASE | re.MULTILINE)
        if m:
            candidates.append(float(m.group(1)))
    if not candidates:
        raise ValueError(f"no score found in the reply (expected JSON like {{\"score\": {int(hi)}}})")
    for value in candidates:
        if lo <= value <= hi:
            return value
    raise ValueError(f"score {candidates[0]:g} is outside {lo:g}-{hi:g}")


def parse_winner(reply: str) -> str:
    """'A', 'B' or 'tie' from a pairwise judge's reply; raises ValueError when it names none."""
    text = unicodedata.normalize("NFKC", str(reply)).strip()
    for obj in _json_objects(text):
        for key in ("winner", "better", "choice"):
            if key in obj:
                w = _winner_word(str(obj[key]))
                if w:
                    return w
    for pat in (r"\[\[\s*(A|B|C|tie)\s*\]\]", r"(?:winner|better answer|勝者)\s*(?:is|は)?\s*[:=]?\s*\**\s*"
                r"(?:answer\s*)?(A|B|tie|引き分け)\b", r"^\**\s*(A|B|tie|引き分け)\s*\**[.。]?$",
                r"\banswer\s+(A|B)\s+is\s+better\b"):
        m = re.search(pat, text, re.IGNORECASE | re.MULTILINE)
        if m:
            return _winner_word(m.group(1)) or "tie"
    raise ValueError('no winner found in the reply (expected JSON like {"winner": "A"})')


def _winner_word(word: str) -> str | None:
    w = word.strip().strip('"').lower()
    if w in ("a", "answer a"):
        return "A"
    if w in ("b", "answer b"):
        return "B"
    if w in ("tie", "c", "draw", "equal", "引き分け", "同等"):
        return "tie"
    return None


class LlmJudge(Evaluator):
    """A judge model scores each answer with a rubric (or compares base against fine-tuned pairwise)."""

    name = "llm_judge"

    def headline(self) -> str:
        return "judge_score" if self.config.mode == "single" else "judge_win_rate"
    tasks = ("generation",)
    calls_model = True

    @property
    def compares_pairs(self) -> bool:
        """In ``mode: pairwise`` it compares base with fine-tuned answers (``base_prediction``)."""
        return self.config.mode == "pairwise"

    @dataclass
    class Config:
        model: str = field(default="", metadata={"help": "judge model: a hub id or local folder (or use endpoint)"})
        endpoint: str = field(default="", metadata={
            "help": "OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1 (instead of model)"})
        endpoint_model: str = field(default="", metadata={"help": "model name sent to the endpoint"})
        api_key_env: str = field(default="", metadata={
            "help": "name of the environment variable holding the endpoint's key (the key itself is "
                    "never written to the recipe or logs); empty for endpoints without a key"})
        mode: Literal["single", "pairwise"] = field(default="single", metadata={
            "help": "single: score each answer; pairwise: pick the better of base and fine-tuned"})
        rubric: str = field(default="", metadata={
            "help": "prompt template; placeholders {input} {reference} {prediction} (single) or "
                    "{answer_a} {answer_b} (pairwise), {min_score} {max_score}. Empty: the built-in rubric"})
        min_score: int = field(default=1, metadata={"help": "lowest score on the rubric's scale"})
        max_score: int = field(default=5, metadata={"help": "highest score on the rubric's scale"})
        max_examples: Optional[int] = field(default=None, metadata={
            "help": "judge only the first N examples (cost control); the rest are not judged"})
        max_new_tokens: int = field(default=128, metadata={"help": "longest judge reply, in tokens"})
        timeout: float = field(default=60.0, metadata={"help": "seconds to wait for one endpoint reply"})
        max_retries: int = field(default=1, metadata={"help": "retries of a failed endpoint request"})

        def __post_init__(self):
            if bool(self.model) == bool(self.endpoint):
                raise ValueError("give exactly one of `model` (a hub id or local folder) or `endpoint` "
                                 "(an OpenAI-compatible URL)")
            if self.min_score >= self.max_score:
                raise ValueError(f"min_score ({self.min_score}) must be below max_score ({self.max_score})")
            if self.rubric:
                needed = ("{prediction}",) if self.mode == "single" else ("{answer_a}", "{answer_b}")
                missing = [p for p in needed if p not in self.rubric]
                if missing:
                    raise ValueError(f"rubric: the {self.mode} rubric needs the placeholder(s) "
                                     f"{', '.join(missing)}")

    def __init__(self, config=None):
        super().__init__(config)
        self._backend = None
        self._cache: tuple[str, dict] | None = None

    def backend(self):
        if self._backend is None:
            c = self.config
            self._backend = make_backend(c.model, c.endpoint, c.endpoint_model, c.api_key_env, c.timeout,
                                         c.max_retries, c.max_new_tokens)
        return self._backend

    def _fingerprint(self, examples) -> str:
        h = hashlib.sha1()
        for e in examples:
            h.update(json.dumps([e.get("id"), e["prediction"], e.get("base_prediction")],
                                ensure_ascii=False).encode())
        return h.hexdigest()

    def _prompts(self, examples) -> list[str]:
        c = self.config
        prompts = []
        for i, e in enumerate(examples):
            common = dict(input=e.get("input", ""), reference=e.get("reference", ""),
                          min_score=c.min_score, max_score=c.max_score)
            if c.mode == "single":
                prompts.append(fill(c.rubric or SINGLE_RUBRIC, prediction=e["prediction"], **common))
            else:
                if "base_prediction" not in e:
                    raise UserError("llm_judge (pairwise): examples lack 'base_prediction'; run it through "
                                    "`ft-lab eval RUN_DIR` (which pairs predictions/base.jsonl with "
                                    "finetuned.jsonl), or use mode: single")
                a, b = (e["base_prediction"], e["prediction"]) if i % 2 == 0 else (e["prediction"], e["base_prediction"])
                prompts.append(fill(c.rubric or PAIRWISE_RUBRIC, answer_a=a, answer_b=b, **common))
        return prompts

    def judge(self, examples) -> dict:
        """Judge every example once (cached for the same predictions); the records and the metrics."""
        examples = list(examples)
        if self.config.max_examples is not None:
            examples = examples[:self.config.max_examples]
        key = self._fingerprint(examples)
        if self._cache and self._cache[0] == key:
            return self._cache[1]
        replies = self.backend().complete(self._prompts(examples)) if examples else []
        records = []
        for i, (e, reply) in enumerate(zip(examples, replies)):
            rec = {"id": e.get("id", i), "reply": None, "error": None}
            if isinstance(reply, Exception):
                rec["error"] = f"request failed: {reply}"
            else:
                rec["reply"] = reply[:2000]
                try:
                    if self.config.mode == "single":
                        rec["score"] = parse_score(reply, self.config.min_score, self.config.max_score)
                    else:
                        w = parse_winner(reply)
                        swapped = i % 2 == 1
                        rec["winner"] = {"A": "finetuned" if swapped else "base",
                                         "B": "base" if swapped else "finetuned", "tie": "tie"}[w]
                except ValueError as exc:
                    rec["error"] = f"unparseable reply: {exc}"
            records.append(rec)
        ok = [r for r in records if r["error"] is None]
        n = len(records)
        metrics = {"judge_failed": (n - len(ok)) / n if n else 0.0}
        if self.config.mode == "single":
            metrics["judge_score"] = sum(r["score"] for r in ok) / len(ok) if ok else float("nan")
        else:
            for who, name in (("finetuned", "judge_win_rate"), ("tie", "judge_tie_rate"),
                              ("base", "judge_loss_rate")):
                metrics[name] = sum(r["winner"] == who for r in ok) / len(ok) if ok else float("nan")
        result = {"metrics": metrics, "judgements": records}
        self._cache = (key, result)
        return result

    def score(self, examples):
        return dict(self.judge(examples)["metrics"])

    def per_example(self, examples):
        if self.config.mode != "single":
            return None
        by_id = {r["id"]: r.get("score", math.nan) for r in self.judge(examples)["judgements"]}
        return [by_id.get(e.get("id"), math.nan) for e in examples]

    def details(self, examples):
        c = self.config
        return {"mode": c.mode, "judge": c.model or f"{c.endpoint} ({c.endpoint_model})",
                "judgements": self.judge(examples)["judgements"]}
