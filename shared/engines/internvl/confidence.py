"""Per-field confidence from the probabilities of the generated tokens.

Greedy decoding picks the most probable token, so its probability is the softmax maximum at each
step; :class:`TopProbRecorder` records it during ``generate`` without keeping whole score
tensors (which cost batch x steps x vocabulary floats). A field's confidence is the lowest
probability among the tokens that spell its value: one doubtful digit makes a doubtful total.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import torch
from transformers import LogitsProcessor


class TopProbRecorder(LogitsProcessor):
    def __init__(self) -> None:
        self.steps: list[torch.Tensor] = []

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        # Stays on the device: a copy to the host here would stall every decode step.
        logits = scores.float()
        self.steps.append((logits.max(-1).values - logits.logsumexp(-1)).exp())
        return scores

    def probabilities(self) -> torch.Tensor:
        """(batch, generated steps) probabilities of the chosen tokens."""
        return torch.stack(self.steps, dim=1).cpu() if self.steps else torch.empty(0, 0)


def token_char_ends(tokenizer: Any, token_ids: Sequence[int]) -> list[int]:
    """Where each token's text ends in the decoded answer.

    Usually the tokens decoded one by one (one batched call) spell the answer exactly, and
    their lengths add up to the ends. Byte-level BPE tokens can split a character, and some
    tokenizers clean up spaces across tokens; then the pieces do not join to the answer, and
    each prefix is decoded instead (a decode per token: ~0.5 ms an answer, which was most of
    a batch's post-processing time)."""
    pieces = tokenizer.batch_decode([[t] for t in token_ids], skip_special_tokens=True)
    if "".join(pieces) == tokenizer.decode(token_ids, skip_special_tokens=True) and \
            not any("\ufffd" in piece for piece in pieces):
        return list(itertools.accumulate(len(piece) for piece in pieces))
    ends = []
    for i in range(1, len(token_ids) + 1):
        ends.append(len(tokenizer.decode(token_ids[:i], skip_special_tokens=True)))
    return ends


def span_confidence(span: tuple[int, int], ends: Sequence[int], probs: Sequence[float]) -> float:
    """Lowest probability among the tokens overlapping ``span`` (an empty value: its quotes)."""
    start, end = span
    if end <= start:
        start, end = start - 1, end + 1
    lowest = 1.0
    found = False
    begin = 0
    for tok_end, prob in zip(ends, probs, strict=False):
        if tok_end > start and begin < end:
            lowest = min(lowest, float(prob))
            found = True
        begin = tok_end
    return lowest if found else 0.0
