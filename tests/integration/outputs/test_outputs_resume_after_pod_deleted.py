"""A task checkpoints its output position every 100 tokens; its pod is deleted at token 750.
Attempt 2 resumes at 700: a follower assembles the text of a run that never failed, told that
the first attempt's chunks 700-749 were retracted."""

from __future__ import annotations

import concurrent.futures
from typing import Any

from kubernetes import client
from longtask.client import Client, OutputChunk, Retraction
from longtask.core import keys, resource
from longtask_examples import generating

from tests.fixtures.waiting import wait_for
from tests.integration.outputs.conftest import generator

TOKENS = 2000
HOLD_AT = 750
RETRY = {"maxAttempts": 2, "backoff": {"initialSeconds": 1, "factor": 1, "jitter": False}}


def test_attempt_2_resumes_the_output_at_the_checkpoint_with_no_duplicate_and_no_gap(
    lt: Client, k8s: client.ApiClient, redis_client: Any
) -> None:
    body = generator(TOKENS, 200, checkpoint_every=100, hold_at=HOLD_AT) | {"retry": RETRY}
    task = lt.submit(body)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        followed = pool.submit(lambda: list(lt.outputs(task.name)))
        # The first attempt's pod dies with tokens 0-749 written.
        wait_for(
            lambda: redis_client.xlen(keys.output(task.uid)) >= HOLD_AT,
            60,
            "the first attempt's token 750",
        )
        core = client.CoreV1Api(k8s)
        selector = f"{resource.LABEL_UID}={task.uid}"
        (pod,) = core.list_namespaced_pod(task.namespace, label_selector=selector).items
        core.delete_namespaced_pod(str(pod.metadata.name), task.namespace)
        changes = followed.result(timeout=180)

    final = lt.get(task.name)
    assert final.phase == resource.Phase.SUCCEEDED, final
    assert final.attempt == 2
    assert final.result == {"tokens": TOKENS, "resumed_at": 700}

    [retraction] = [c for c in changes if isinstance(c, Retraction)]
    assert retraction == Retraction(seq=700, attempt=2, count=HOLD_AT - 700, resumed=True)
    # What a follower assembles: chunks in order, the retracted ones dropped.
    text: list[str] = []
    for change in changes:
        if isinstance(change, OutputChunk):
            assert change.seq == len(text)
            text.append(change.text())
        else:
            del text[change.seq :]
    expected = generating.text(1, TOKENS)
    assert "".join(text) == expected
    whole = lt.output(task.name)
    assert whole.text() == expected
    assert whole.retracted == HOLD_AT - 700
    assert [c.attempt for c in whole.chunks[699:701]] == [1, 2]
