"""``ft-lab serve`` through the official ``openai`` client: chat, streaming, completions, classify, keys,
limits, the PII-masked request log, a bounded load test, drift and its alert, feedback into training rows."""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import openai
import pytest

from ft_lab.cli import main
from serve_support import KEY, running_server

pytestmark = pytest.mark.integration


def _rows(serve_dir: Path) -> list[dict]:
    db = sqlite3.connect(serve_dir / "requests.sqlite")
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM requests")]
    finally:
        db.close()


@pytest.fixture(scope="module")
def generation_server(tmp_path_factory, tiny_model_dir):
    folder = tmp_path_factory.mktemp("serve_gen") / "serve"
    with running_server(tiny_model_dir, folder, "--max-request-bytes", "4000") as (url, _):
        yield url, folder


@pytest.fixture(scope="module")
def classify_server(tmp_path_factory, completed_classification_run):
    folder = tmp_path_factory.mktemp("serve_clf") / "serve"
    with running_server(completed_classification_run.dir, folder) as (url, _):
        yield url, folder


def test_chat_streaming_completions_and_models(generation_server):
    url, folder = generation_server
    client = openai.OpenAI(base_url=url, api_key=KEY, max_retries=0)
    name = client.models.list().data[0].id
    assert name == "tiny-v1"
    chat = client.chat.completions.create(model=name, messages=[{"role": "user", "content": "my card is lost"}],
                                          max_tokens=5)
    assert chat.model == name and chat.choices[0].message.role == "assistant"
    assert chat.usage.completion_tokens >= 1
    chunks = list(client.chat.completions.create(messages=[{"role": "user", "content": "hello"}], model=name,
                                                 max_tokens=5, stream=True))
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(chunks) >= 2 and streamed
    done = client.completions.create(model=name, prompt="How do I", max_tokens=4)
    assert done.choices[0].text and done.usage.completion_tokens >= 1
    with pytest.raises(openai.NotFoundError, match="not served here"):
        client.completions.create(model="gpt-4o", prompt="hi", max_tokens=2)
    logged = {r["id"]: r for r in _rows(folder)}
    assert logged[chat.id]["completion_tokens"] == chat.usage.completion_tokens
    assert logged[chat.id]["output_text"] == chat.choices[0].message.content
    assert logged[chunks[0].id]["output_text"] == streamed
    client.post("/feedback", body={"request_id": chat.id, "rating": -1, "corrected": "Freeze it in the app."},
                cast_to=object)
    pairs = Path(folder).parent / "pairs.jsonl"
    assert main(["monitor", "export", str(folder), "--out", str(pairs), "--pairs"]) == 0
    (pair,) = [json.loads(x) for x in pairs.read_text().splitlines()]
    assert pair == {"prompt": "my card is lost", "chosen": "Freeze it in the app.",
                    "rejected": chat.choices[0].message.content}


def test_keys_size_limit_and_masked_log(generation_server):
    url, folder = generation_server
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=url, api_key="wrong-key-123456", max_retries=0).models.list()
    assert httpx.get(url + "/models").status_code == 401  # no key at all
    client = openai.OpenAI(base_url=url, api_key=KEY, max_retries=0)
    with pytest.raises(openai.APIStatusError) as too_big:
        client.completions.create(model="tiny-v1", prompt="x" * 5000, max_tokens=2)
    assert too_big.value.status_code == 413
    answer = client.chat.completions.create(
        model="tiny-v1", max_tokens=3,
        messages=[{"role": "user", "content": "write to jane.doe@example.com or call 090-1234-5678"}])
    row = next(r for r in _rows(folder) if r["id"] == answer.id)
    assert "jane.doe" not in row["input_text"] and "<EMAIL>" in row["input_text"] and "<PHONE>" in row["input_text"]
    assert KEY not in (folder / "requests.sqlite").read_bytes().decode("latin-1")


def test_bounded_load(generation_server):
    url, folder = generation_server
    clients, each = 4, 5
    ids, latencies, failures = [], [], []

    def worker():
        client = openai.OpenAI(base_url=url, api_key=KEY, max_retries=0)
        for i in range(each):
            start = time.perf_counter()
            try:
                ids.append(client.completions.create(model="tiny-v1", prompt=f"question {i}", max_tokens=3).id)
            except openai.OpenAIError as exc:
                failures.append(repr(exc))
            latencies.append(time.perf_counter() - start)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not failures and len(ids) == clients * each == len(set(ids))
    logged = {r["id"] for r in _rows(folder)}
    assert set(ids) <= logged
    lat = sorted(latencies)
    print(f"load: {clients} clients x {each} requests, p50 {lat[len(lat) // 2] * 1000:.0f} ms, "
          f"p95 {lat[int(0.95 * (len(lat) - 1))] * 1000:.0f} ms")


OFF_TOPIC = ["今日は天気がいいので公園を散歩しました", "Die Katze schläft auf dem warmen Sofa",
             "quantum chromodynamics lattice gauge simulation", "recette de la tarte aux pommes normande",
             "photosynthesis converts sunlight chlorophyll glucose", "the violin sonata in A minor, second movement"]


def test_classify_drift_alert_and_feedback_rows(classify_server, completed_classification_run, tmp_path, capsys):
    url, folder = classify_server
    client = openai.OpenAI(base_url=url, api_key=KEY, max_retries=0)
    test_rows = [json.loads(x) for x in (completed_classification_run.dir / "data" / "test.jsonl").read_text().splitlines()]
    labels = json.loads((completed_classification_run.dir / "data" / "report.json").read_text())["labels"]
    answer = client.post("/classify", body={"input": test_rows[0]["text"]}, cast_to=object)
    (one,) = answer["data"]
    assert one["label"] in labels and set(one["probabilities"]) == set(labels)
    assert abs(sum(one["probabilities"].values()) - 1) < 1e-3 and one["probability"] == max(one["probabilities"].values())
    with pytest.raises(openai.NotFoundError, match="classification model"):
        client.chat.completions.create(model="x", messages=[{"role": "user", "content": "hi"}])

    many = client.post("/classify", body={"input": [r["text"] for r in test_rows[1:12]]}, cast_to=object)["data"]
    assert main(["monitor", str(folder), "--json"]) == 0
    before = json.loads(capsys.readouterr().out)
    assert before["requests"] == 12 and before["classified"] == 12 and before["alerts"] == []
    client.post("/classify", body={"input": OFF_TOPIC}, cast_to=object)
    assert main(["monitor", str(folder), "--json"]) == 0
    after = json.loads(capsys.readouterr().out)
    assert after["far_share"] > before["far_share"] + 0.2 and after["oov_rate"] > before["oov_rate"]
    assert main(["monitor", str(folder)]) == 0
    text = capsys.readouterr().out
    assert "ALERT: input drift" in text and "p95" in text
    with capsys.disabled():
        print("\n" + text)  # the example of docs/serving.md

    for row, got in zip(test_rows[1:12], many):  # the right labels, as a reviewer would send them
        client.post("/feedback", body={"request_id": got["id"], "rating": -1, "label": row["label"]}, cast_to=object)
    with pytest.raises(openai.BadRequestError, match="not one of the model's labels"):
        client.post("/feedback", body={"request_id": many[0]["id"], "label": "no_such_label"}, cast_to=object)
    with pytest.raises(openai.NotFoundError):
        client.post("/feedback", body={"request_id": "req-unknown", "rating": 1}, cast_to=object)
    from ft_lab.widgets.monitor_panel import MonitorPanel  # the Studio's view of the same log

    panel = MonitorPanel()
    panel.load(folder)
    assert "ALERT: input drift" in panel.summary.value and many[-1]["id"] in panel.table.value
    panel.request.value = one["id"]
    panel.label.value = labels[0]
    panel.bad.click()
    assert "feedback stored" in panel.message.value and "12 corrections" in panel.summary.value
    out = tmp_path / "corrections.jsonl"
    assert main(["monitor", "export", str(folder), "--out", str(out)]) == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == 12 and {r["label"] for r in rows} <= set(labels)
    assert [r["text"] for r in rows] == [r["text"] for r in test_rows[1:12]] + [test_rows[0]["text"]]
    recipe = tmp_path / "next.yaml"  # the rows are data a new run accepts
    recipe.write_text(f"task: classification\ndata: {{path: {out}, split: [0.8, 0.1, 0.1], stratify: false}}\n")
    assert main(["data", "prepare", str(recipe), "--out", str(tmp_path / "prepared")]) == 0
    assert len((tmp_path / "prepared" / "train.jsonl").read_text().splitlines()) >= 8
