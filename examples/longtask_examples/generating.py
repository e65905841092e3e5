"""Writes text token by token, as a language model streams an answer (no model: a small
deterministic generator, so every run and every attempt writes the same text).

Each token is output as it is made (`ctx.output`); followers see the text grow (`longtask
submit --wait --follow-output`, `client.outputs(name)`, the dashboard's task page) and
`longtask output NAME` prints it whole. With `checkpoint_every`, the task checkpoints its place
every so many tokens: an attempt that fails resumes there and the output goes on from the
checkpoint, the failed attempt's later tokens retracted.

params: `tokens` (default 200), `rate` (tokens per second, default 20), `seed` (default 1),
`checkpoint_every` (default 0: never), `hold_at` (first attempt only: stop making tokens at this
one and wait to be stopped, as a pod that dies mid-answer; default none).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

from longtask.runner import TaskContext

# The vocabulary of the generator (its words in no particular order).
VOCABULARY = (
    "the long task keeps its place while the cluster moves pods between nodes and every "
    "follower sees each token once in order as the answer grows from the first word to the "
    "last with progress checkpoints and retries along the way"
)
WORDS = VOCABULARY.split()


def token(seed: int, index: int) -> str:
    """Token `index` of the text of `seed`: a word and its separator."""
    pick = random.Random(seed * 1_000_003 + index)
    word = pick.choice(WORDS)
    if index % 12 == 0:
        word = word.capitalize()
    return word + (". " if index % 12 == 11 else " ")


def tokens(seed: int, start: int, stop: int) -> Iterator[str]:
    for index in range(start, stop):
        yield token(seed, index)


def text(seed: int, count: int) -> str:
    """The whole text of `count` tokens: what a run that never failed outputs."""
    return "".join(tokens(seed, 0, count))


def generate(ctx: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    count = int(params.get("tokens", 200))
    rate = float(params.get("rate", 20))
    seed = int(params.get("seed", 1))
    every = int(params.get("checkpoint_every", 0))
    hold_at = params.get("hold_at")
    start = int((ctx.last_checkpoint or {}).get("next", 0))
    began = time.monotonic()
    for index in range(start, count):
        ctx.raise_if_cancelled()
        if ctx.attempt == 1 and hold_at is not None and index == int(hold_at):
            while True:  # a pod about to die: no more tokens, until SIGTERM
                ctx.raise_if_cancelled()
                time.sleep(0.05)
        if every and index and index % every == 0:
            ctx.checkpoint({"next": index})
        ctx.output(token(seed, index))
        ctx.progress(100 * (index + 1) / count, f"token {index + 1}/{count}")
        # An absolute schedule: the rate holds however long an output call takes.
        delay = began + (index - start + 1) / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    return {"tokens": count, "resumed_at": start}
