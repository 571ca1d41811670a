"""Test helpers for the evaluation and analysis tests: run directories written by hand, a fake
OpenAI-compatible endpoint on 127.0.0.1, and a tiny local causal LM whose greedy output is fixed."""
from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def write_jsonl(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def make_run(root: Path, task: str, base: list[dict] | None, finetuned: list[dict] | None,
             evaluate: list | None = None, metrics: dict | None = None, name: str = "run1") -> Path:
    """A run directory as the run engine leaves it: recipe.yaml, data/, predictions/, metrics.json."""
    from ft_lab.core.recipe import Recipe

    run = root / name
    rows = finetuned or base or []
    if task == "classification":
        data = [{"text": e["input"], "label": e["reference"], **e.get("meta", {})} for e in rows]
    else:
        data = [{"prompt": e["input"], "response": e["reference"], **e.get("meta", {})} for e in rows]
    for split in ("train", "validation", "test"):
        write_jsonl(run / "data" / f"{split}.jsonl", data)
    recipe = {"task": task, "data": {"train": str(run / "data" / "train.jsonl"),
                                     "validation": str(run / "data" / "validation.jsonl"),
                                     "test": str(run / "data" / "test.jsonl")}}
    if evaluate is not None:
        recipe["evaluate"] = evaluate
    (run / "recipe.yaml").write_text(Recipe.from_dict(recipe).to_yaml(), encoding="utf-8")
    (run / "events.jsonl").write_text("", encoding="utf-8")
    if base is not None:
        write_jsonl(run / "predictions" / "base.jsonl", base)
    if finetuned is not None:
        write_jsonl(run / "predictions" / "finetuned.jsonl", finetuned)
    (run / "metrics.json").write_text(json.dumps(metrics if metrics is not None else
                                                 {"base": {}, "finetuned": {}, "headline": "accuracy"}))
    return run


def cls_examples(refs, preds, meta=None) -> list[dict]:
    return [{"id": i, "input": f"text {i}", "reference": r, "prediction": p,
             "meta": (meta[i] if meta else {}), "probs": {p: 0.9}}
            for i, (r, p) in enumerate(zip(refs, preds))]


def gen_examples(pairs, meta=None) -> list[dict]:
    return [{"id": i, "input": inp, "reference": ref, "prediction": pred, "meta": (meta[i] if meta else {}),
             "nll": 2.0 + i, "n_tokens": 4}
            for i, (inp, ref, pred) in enumerate(pairs)]


@contextmanager
def fake_chat_endpoint(reply_for, expect_key: str | None = None):
    """Serve OpenAI-style chat completions on 127.0.0.1 (ephemeral port). ``reply_for(prompt)`` returns
    the reply text, or an int HTTP status to fail with. Yields (base_url, list of received requests)."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(min(length, 1_000_000)) or b"{}")
            received.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
            if expect_key is not None and self.headers.get("Authorization") != f"Bearer {expect_key}":
                return self._send(401, {"error": {"message": "bad key"}})
            if self.path != "/v1/chat/completions":
                return self._send(404, {"error": "not found"})
            reply = reply_for(body["messages"][-1]["content"])
            if isinstance(reply, int):
                return self._send(reply, {"error": {"message": "failure"}})
            self._send(200, {"id": "x", "object": "chat.completion", "model": body.get("model"),
                             "choices": [{"index": 0, "finish_reason": "stop",
                                          "message": {"role": "assistant", "content": reply}}]})

        def _send(self, code, payload):
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def tiny_fixed_output_model(folder: Path, first_token: str) -> Path:
    """A 1-layer random Llama whose lm_head is zero, so greedy decoding always emits token id 0
    (``first_token``); with a word-level tokenizer built here. Takes about a second on a CPU."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    words = [first_token, "<unk>", "<pad>", "<eos>"] + [w for w in "abcdefghij0123456789" if w != first_token]
    vocab = {w: i for i, w in enumerate(dict.fromkeys(words))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", eos_token="<eos>")
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(vocab), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=512,
                         pad_token_id=vocab["<pad>"], eos_token_id=vocab["<eos>"], bos_token_id=None,
                         tie_word_embeddings=False)
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        model.lm_head.weight.zero_()
    model.save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder
