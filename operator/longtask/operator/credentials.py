"""A task's Redis credentials, built by pure functions: its user and password (core's
`redisurls` puts them in the runner's address; the Secret that carries the URL to the pods is
built with the Job, in `jobs`).

Design choices:
1. One Redis user per task, not per attempt: the keys are the task's (the next attempt reads the
   last one's checkpoint), so an attempt's user could reach nothing another attempt's could not,
   and one Secret per task costs one API write per task instead of one per attempt.
2. The password is an HMAC of the task's UID under the operator's key: after a Redis restart or
   failover the operator re-creates the users of live tasks from their UIDs alone (no Secret
   read, no state of its own), and a Secret written twice has the same content.
3. The Secret is owned by the LongTask (it goes with the task) and immutable; the pod reads the
   URL through `secretKeyRef`, so the password never appears in the Job.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Final

from longtask.core import redisusers, resource

# Key of the Secret's data that the pod's LONGTASK_REDIS_URL reads.
URL_KEY: Final = "url"


def secret_name(uid: str) -> str:
    """`longtask-redis-<uid>`: named by the UID, so a re-created task of the same name never
    meets the Secret of its predecessor."""
    return f"longtask-redis-{uid}"


def password(key: str, uid: str) -> str:
    """The task user's password: HMAC-SHA256 of the UID, URL-safe base64 (43 characters)."""
    digest = hmac.new(key.encode(), uid.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def username(task: resource.LongTask) -> str:
    meta = task["metadata"]
    return redisusers.task_username(meta["namespace"], meta["uid"])
