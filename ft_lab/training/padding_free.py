"""Padding-free forward passes for the preference trainers (``train.objective`` dpo, orpo, kto, simpo).

    counts = padding_free(model)     # model already on ft_lab_packed attention (packing.use_packed_attention)
    trainer.train()                  # every padded batch the trainer sends runs as one row of real tokens
    counts.report()                  # {"rows", "batches", "real_tokens", "padded_tokens", "padding_saved"}
    counts.remove()

TRL 1.16 has no padding-free path for its preference trainers: ``DPOConfig.padding_free`` warns and falls back
to padding ("temporarily unavailable after a refactor"), and KTOTrainer, ORPOTrainer and CPOTrainer have no
such option. They all call the model on right-padded batches (chosen and rejected answers stacked), so ft-lab
flattens one level down instead: the decoder stack (the model's backbone, below the LM head) receives the
batch's real tokens as one row, positions restarting at 0 for every sequence, and ``ft_lab_packed`` attention
keeps each sequence to itself; the hidden states go back to their padded places (zeros at the padding, where
no label is scored), so the trainer's LM head, log-probabilities and losses are unchanged.
A call that is not a right-padded training batch (generation, a cache, left padding) runs as before.
"""
from __future__ import annotations


def _backbone(model):
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return getattr(base, base.base_model_prefix, None) if getattr(base, "base_model_prefix", None) else None


class PaddingFree:
    """The backbone's forward, replaced; counts the tokens it ran and the tokens padding would have run."""

    def __init__(self, backbone):
        self.backbone = backbone
        self.original = backbone.forward
        self.own = "forward" in vars(backbone)  # an instance forward already (another wrapper) to put back
        self.rows = self.batches = self.real_tokens = self.padded_tokens = 0
        backbone.forward = self.forward

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None,
                inputs_embeds=None, use_cache=None, **kwargs):
        import torch

        plain = dict(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                     past_key_values=past_key_values, inputs_embeds=inputs_embeds, use_cache=use_cache, **kwargs)
        if (input_ids is None or attention_mask is None or input_ids.dim() != 2 or use_cache is not False
                or past_key_values is not None or position_ids is not None or inputs_embeds is not None):
            return self.original(**plain)
        rows, width = input_ids.shape
        keep = attention_mask.bool()
        lengths = keep.sum(1)
        places = torch.arange(width, device=input_ids.device).expand(rows, width)
        if not torch.equal(keep, places < lengths[:, None]) or int(lengths.min()) == 0:
            return self.original(**plain)  # not right-padded: leave it to the model's own mask
        bounds = torch.cat([lengths.new_zeros(1), lengths.cumsum(0)]).to(torch.int32)
        longest = int(lengths.max())
        out = self.original(input_ids=input_ids[keep][None], attention_mask=None, position_ids=places[keep][None],
                            use_cache=False, cu_seq_lens_q=bounds, cu_seq_lens_k=bounds, max_length_q=longest,
                            max_length_k=longest, **kwargs)
        hidden = out.last_hidden_state[0]
        out.last_hidden_state = hidden.new_zeros(rows, width, hidden.shape[-1]).masked_scatter(keep[..., None], hidden)
        self.rows += rows
        self.batches += 1
        self.real_tokens += int(lengths.sum())
        self.padded_tokens += rows * width
        return out

    def report(self) -> dict | None:
        """The ``packing`` event's figures over every forward pass so far (None before the first)."""
        if not self.padded_tokens:
            return None
        return {"rows": self.rows, "batches": self.batches, "tokens_per_batch": None,
                "real_tokens": self.real_tokens, "padded_tokens": self.padded_tokens,
                "padding_saved": round(1 - self.real_tokens / self.padded_tokens, 4)}

    def remove(self) -> None:
        if self.own:
            self.backbone.forward = self.original
        else:
            del self.backbone.forward


def padding_free(model) -> PaddingFree | None:
    """Run ``model``'s right-padded batches padding-free (see the module docstring); None where the model has
    no backbone to wrap. The model must already be on ``ft_lab_packed`` attention."""
    backbone = _backbone(model)
    if backbone is None:
        return None
    return PaddingFree(backbone)
