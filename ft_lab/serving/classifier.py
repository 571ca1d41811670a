"""``/v1/classify``: the run's classification head, in-process (serving engines answer text, not labels).

    clf = Classifier.load(served)
    clf.predict(["I lost my card"])   # [("lost_card", {"lost_card": 0.91, "pin_blocked": 0.03, ...})]
"""
from __future__ import annotations

import threading

from ..models.from_run import load_trained


class Classifier:
    def __init__(self, model, tokenizer, labels: list[str], max_length: int):
        self.model, self.tokenizer, self.labels, self.max_length = model, tokenizer, labels, max_length
        self._lock = threading.Lock()  # one forward pass at a time: torch's threads are already busy

    @classmethod
    def load(cls, served) -> "Classifier":
        if served.run_dir is not None:
            model, tokenizer, _ = load_trained(served.run_dir, served.recipe)
            return cls(model, tokenizer, served.labels, served.recipe.model.max_length)
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        model = AutoModelForSequenceClassification.from_pretrained(str(served.model_folder)).eval()
        tokenizer = AutoTokenizer.from_pretrained(str(served.model_folder))
        return cls(model, tokenizer, served.labels, tokenizer.model_max_length if tokenizer.model_max_length < 10**6 else 512)

    def predict(self, texts: list[str]) -> list[tuple[str, dict[str, float]]]:
        import torch

        with self._lock, torch.no_grad():
            batch = self.tokenizer(texts, return_tensors="pt", padding=True, truncation=True,
                                   max_length=self.max_length)
            probs = torch.softmax(self.model(**batch).logits.float(), dim=-1).tolist()
        out = []
        for row in probs:
            scores = {label: round(p, 6) for label, p in zip(self.labels, row)}
            out.append((max(scores, key=scores.get), scores))
        return out
