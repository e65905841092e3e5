"""Where a pod's processes run in the local node's process mode: a folder only they can enter
(HOME, the working directory, emptyDir volumes, the service-account kubeconfig) and, when the node
runs as root, a user and group of their own.

Design choices:
1. A user per pod, not one user for all pods: processes of one user may signal and trace each
   other and read each other's environment (`/proc/PID/environ` holds a task's Redis URL and its
   password). A user of their own keeps pods apart from each other and from the stack's files,
   which are their owner's only (admin kubeconfig, CA key, the Redis admin's password).
2. The users have no passwd entry and come from a block of `BLOCK_SIZE` IDs that this node holds
   with a lock file for its whole life, so several local nodes on one machine never hand out the
   same ID; within a node an ID is not used twice until the block wraps around.
3. The folders live in a fresh directory under the system's temporary folder, not in the stack's
   state folder: that folder (and for tests, pytest's) is its owner's only, which a pod's user
   could not enter.
Without root (or when the IDs are not mapped in this user namespace) pods run as the node's user
in folders of their own: kept apart by nothing (see the local node's docstring).
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO

FIRST_UID = 2_000_000
BLOCK_SIZE = 65_536
BLOCKS = 512
LOCKS = Path(tempfile.gettempdir()) / "longtask-uid-blocks"


@dataclasses.dataclass(frozen=True)
class Sandbox:
    folder: Path
    user: tuple[int, int] | None
    """(uid, gid) the pod's processes run as; None: the node's own."""

    def own(self) -> None:
        """Hands the folder and all the node wrote into it to the pod's user."""
        if self.user is None:
            return
        uid, gid = self.user
        for path in [self.folder, *self.folder.rglob("*")]:
            os.chown(path, uid, gid, follow_symlinks=False)


class Sandboxes:
    """The sandboxes of one node's pods."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="longtask-pods-"))
        self.root.chmod(0o711)  # pods pass through to their own folder, list nothing
        self._lock: IO[bytes] | None = None
        self._first = self._next = 0
        if os.geteuid() == 0:
            self._first = self._claim_block()
            self._next = self._first

    @property
    def isolated(self) -> bool:
        """Whether each pod runs as a user of its own."""
        return self._lock is not None

    def probe_user(self) -> tuple[int, int] | None:
        """A user of the block for a start-up check (never a pod's), or None."""
        return (self._first + BLOCK_SIZE - 1,) * 2 if self.isolated else None

    def share_users(self) -> None:
        """Pods run as the node's user from now on (per-pod users do not work here)."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def _claim_block(self) -> int:
        """The first uid of a block no other node on this machine holds, or 0."""
        LOCKS.mkdir(mode=0o755, exist_ok=True)
        for block in range(BLOCKS):
            first = FIRST_UID + block * BLOCK_SIZE
            if not _mapped(first, BLOCK_SIZE):
                return 0
            lock = open(LOCKS / f"{first}.lock", "ab")  # noqa: SIM115  # held for the node's life
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            self._lock = lock
            return first
        return 0

    def make(self, namespace: str, name: str, pod_uid: str) -> Sandbox:
        folder = self.root / f"{namespace}_{name}_{pod_uid}"
        folder.mkdir(mode=0o700, exist_ok=True)
        user = None
        if self.isolated:
            uid = self._next
            self._next = self._first + (self._next - self._first + 1) % BLOCK_SIZE
            user = (uid, uid)
        return Sandbox(folder, user)

    def remove(self, namespace: str, name: str, pod_uid: str) -> None:
        shutil.rmtree(self.root / f"{namespace}_{name}_{pod_uid}", ignore_errors=True)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def _mapped(first: int, count: int) -> bool:
    """Whether uids first … first+count-1 exist in this user namespace (/proc/self/uid_map)."""
    try:
        lines = Path("/proc/self/uid_map").read_text().splitlines()
    except OSError:
        return False
    for line in lines:
        inside, _, length = (int(field) for field in line.split())
        if inside <= first and first + count <= inside + length:
            return True
    return False
