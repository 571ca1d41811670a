"""Text generators used by the judge and by scenarios: a local model, or an OpenAI-compatible endpoint.

    backend = make_backend(model="path/or/hub-id")                      # transformers, greedy decoding
    backend = make_backend(endpoint="http://127.0.0.1:8000/v1", endpoint_model="judge",
                           api_key_env="FT_LAB_JUDGE_API_KEY")
    replies = backend.complete(["prompt 1", "prompt 2"])     # one str or one Exception per prompt

A failure on one prompt is returned in its place, never raised, so one bad request costs one example.
The API key is read from the environment variable named by ``api_key_env`` at each request; it is
never stored on the object, written to disk, or included in an error message.
"""
from __future__ import annotations

import json
import os
import time
from typing import Sequence

from ..errors import UserError


class EndpointBackend:
    """POSTs each prompt to ``{endpoint}/chat/completions`` in the OpenAI chat-completions shape."""

    def __init__(self, endpoint: str, model: str = "", api_key_env: str = "", timeout: float = 60.0,
                 max_retries: int = 1, max_new_tokens: int = 256, system_prompt: str | None = None):
        if not endpoint.startswith(("http://", "https://")):
            raise UserError(f"endpoint: expected an http(s) URL such as http://127.0.0.1:8000/v1, got {endpoint!r}")
        self.url = endpoint.rstrip("/")
        if not self.url.endswith("/chat/completions"):
            self.url += "/chat/completions"
        self.model, self.api_key_env = model, api_key_env
        self.timeout, self.max_retries, self.max_new_tokens = timeout, max_retries, max_new_tokens
        self.system_prompt = system_prompt
        if api_key_env and api_key_env not in os.environ:
            raise UserError(f"api_key_env: the environment variable {api_key_env} is not set; export it "
                            f"with the endpoint's key (the key is never written to the recipe), or set "
                            f"api_key_env to '' for an endpoint without a key")

    def _key(self) -> str:
        return os.environ.get(self.api_key_env, "") if self.api_key_env else ""

    def _scrub(self, text: str) -> str:
        key = self._key()
        return text.replace(key, "***") if key else text

    def _request(self, prompt: str) -> str:
        import urllib.request  # imported here: plugin discovery must stay cheap

        messages = ([{"role": "system", "content": self.system_prompt}] if self.system_prompt else []) + \
            [{"role": "user", "content": prompt}]
        body = json.dumps({"model": self.model, "messages": messages, "temperature": 0,
                           "max_tokens": self.max_new_tokens}).encode()
        headers = {"Content-Type": "application/json"}
        if self._key():
            headers["Authorization"] = f"Bearer {self._key()}"
        req = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            payload = json.loads(resp.read().decode("utf-8"))
        try:
            return payload["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise ValueError(f"reply is not in the chat-completions shape: {str(payload)[:200]}") from None

    def complete(self, prompts: Sequence[str]) -> list:
        import urllib.error

        out: list = []
        for prompt in prompts:
            for attempt in range(self.max_retries + 1):
                try:
                    out.append(self._request(prompt))
                    break
                except urllib.error.HTTPError as exc:
                    if exc.code in (401, 403):
                        raise UserError(f"endpoint {self.url} refused the request (HTTP {exc.code}); check "
                                        f"the key in ${self.api_key_env or '<api_key_env unset>'}") from None
                    err: Exception = RuntimeError(f"HTTP {exc.code} from {self.url}")
                    if exc.code < 500 and exc.code != 429:
                        out.append(err)
                        break
                except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
                    err = RuntimeError(self._scrub(f"{type(exc).__name__}: {exc}"))
                if attempt == self.max_retries:
                    out.append(err)
                else:
                    time.sleep(min(2.0, 0.2 * 2 ** attempt))
        return out


class LocalModelBackend:
    """A causal language model from a hub id or a local folder (transformers), decoding greedily."""

    def __init__(self, model: str, max_new_tokens: int = 64, system_prompt: str | None = None,
                 batch_size: int = 8):
        self.name, self.max_new_tokens, self.system_prompt = model, max_new_tokens, system_prompt
        self.batch_size = batch_size
        self._model = self._tok = None

    def _load(self):
        if self._model is not None:
            return
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            self._tok = AutoTokenizer.from_pretrained(self.name)
            self._model = AutoModelForCausalLM.from_pretrained(self.name)
        except (OSError, ValueError) as exc:
            raise UserError(f"model: cannot load {self.name!r} ({str(exc).splitlines()[0]}); give a local "
                            f"folder with config.json and tokenizer files, or a hub id that is cached") from None
        self._model.eval()
        if self._tok.pad_token is None:
            self._tok.pad_token = self._tok.eos_token or self._tok.unk_token
        self._tok.padding_side = "left"

    def _format(self, prompt: str) -> str:
        if getattr(self._tok, "chat_template", None):
            messages = ([{"role": "system", "content": self.system_prompt}] if self.system_prompt else []) + \
                [{"role": "user", "content": prompt}]
            return self._tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return (self.system_prompt + "\n\n" if self.system_prompt else "") + prompt

    def complete(self, prompts: Sequence[str]) -> list:
        import torch

        self._load()
        out: list = []
        for start in range(0, len(prompts), self.batch_size):
            batch = [self._format(p) for p in prompts[start:start + self.batch_size]]
            try:
                enc = self._tok(batch, return_tensors="pt", padding=True)
                with torch.no_grad():
                    gen = self._model.generate(**enc, max_new_tokens=self.max_new_tokens, do_sample=False,
                                               pad_token_id=self._tok.pad_token_id)
                new = gen[:, enc["input_ids"].shape[1]:]
                out.extend(self._tok.batch_decode(new, skip_special_tokens=True))
            except Exception as exc:  # one failed batch is recorded per example, not fatal
                out.extend([RuntimeError(f"{type(exc).__name__}: {exc}")] * len(batch))
        return out


def make_backend(model: str = "", endpoint: str = "", endpoint_model: str = "", api_key_env: str = "",
                 timeout: float = 60.0, max_retries: int = 1, max_new_tokens: int = 64,
                 system_prompt: str | None = None, who: str = "llm_judge"):
    if bool(model) == bool(endpoint):
        raise UserError(f"{who}: give exactly one of `model` (a hub id or local folder) or `endpoint` "
                        f"(an OpenAI-compatible URL)")
    if endpoint:
        return EndpointBackend(endpoint, endpoint_model, api_key_env, timeout, max_retries, max_new_tokens,
                               system_prompt)
    return LocalModelBackend(model, max_new_tokens, system_prompt)
