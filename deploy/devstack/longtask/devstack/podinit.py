"""The init of a container in the local node's process mode: it keeps the container's whole
process tree together, as a container's PID namespace does, and ends all of it with the container.

`python -I -S podinit.py [--user UID:GID [--expose PATH]...] -- ARGV...` (standard library
only, so it starts fast without `site`):

1. It makes itself a child subreaper (`prctl(PR_SET_CHILD_SUBREAPER)`): every process the
   container starts stays its descendant, `setsid` children and double-forked daemons included
   (an orphan is re-parented to the nearest subreaper, not to the machine's init).
2. It runs ARGV as its child with `no_new_privs` set (setuid programs gain nothing) and, given
   `--user`, as that user and group with no supplementary groups. Each `--expose` PATH (the
   Python installation, the virtualenv) must be reachable by that user: where a folder on the
   way is closed to others (a Python under root's 0700 home), the child gets a mount namespace
   of its own in which a tmpfs covers that folder and holds only the way on, bind-mounted: the
   rest of the folder stays out of sight.
3. SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 go to the main process only, as a
   container runtime signals PID 1.
4. When the main process ends, every remaining descendant gets SIGKILL (as when a container's
   PID 1 exits), then it exits with the main process's code: 128 + N when signal N ended it.

The node's SIGKILL after a deletion's grace period goes to the descendants (`kill_tree`), never
to this process first: killed first, it would leave the tree to the machine's init.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
CLONE_NEWNS = 0x00020000
MS_BIND, MS_REC, MS_PRIVATE = 0x1000, 0x4000, 0x40000
MS_NOSUID, MS_NODEV = 0x2, 0x4
FORWARDED = (
    signal.SIGTERM,
    signal.SIGINT,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _prctl(option: int, value: int) -> None:
    _check(_libc().prctl(option, value, 0, 0, 0), f"prctl({option})")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str) -> None:
    def c_string(text: str | None) -> bytes | None:
        return text.encode() if text is not None else None

    libc = _libc()
    result = libc.mount(c_string(source), target.encode(), c_string(fstype), flags, data.encode())
    _check(result, f"mount {target}")


def _closed_folder(path: str) -> tuple[str, str] | None:
    """(folder, next name) for the first folder on the way to `path` that others may not enter,
    or None when the way is open."""
    parts = [p for p in os.path.abspath(path).split("/") if p]
    folder = "/"
    for name in parts:
        if not os.stat(folder).st_mode & 0o001:
            return folder, name
        folder = os.path.join(folder, name)
    return None


def _expose(paths: list[str]) -> None:
    """Opens the way to `paths` for any user, in a mount namespace of this process's own."""
    unshared = False
    for _ in range(32):  # one closed folder per round, outermost first
        closed = [c for p in paths if os.path.exists(p) and (c := _closed_folder(p))]
        if not closed:
            return
        if not unshared:
            _check(_libc().unshare(CLONE_NEWNS), "unshare")
            _mount(None, "/", None, MS_REC | MS_PRIVATE, "")  # nothing leaks to the host
            unshared = True
        folder = min(c[0] for c in closed)
        keep = {name for f, name in closed if f == folder}
        # Handles on what stays, taken before the tmpfs hides it.
        handles = {name: os.open(os.path.join(folder, name), os.O_PATH) for name in keep}
        _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0711,size=64k")
        for name, handle in handles.items():
            target = os.path.join(folder, name)
            if os.path.isdir(f"/proc/self/fd/{handle}"):
                os.mkdir(target)
            else:
                open(target, "x").close()
            _mount(f"/proc/self/fd/{handle}", target, None, MS_BIND | MS_REC, "")
            os.close(handle)
    raise OSError(f"too many closed folders on the way to {paths}")


def descendants(root: int) -> set[int]:
    """Every process below `root`, from the parent links in /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        children.setdefault(ppid, []).append(int(entry))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def kill_tree(root: int) -> None:
    """SIGKILL every descendant of `root` (not `root` itself)."""
    for pid in descendants(root):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _exec(argv: list[str], user: tuple[int, int] | None, expose: list[str]) -> None:
    """In the child: drop privileges, restore signals, become ARGV (never returns)."""
    try:
        for sig in FORWARDED:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        _prctl(PR_SET_NO_NEW_PRIVS, 1)
        if user is not None:
            _expose(expose)
            os.setgroups([])
            os.setgid(user[1])
            os.setuid(user[0])
        os.execv(argv[0], argv)
    except OSError as exc:
        os.write(2, f"podinit: cannot run {argv[0]}: {exc}\n".encode())
    os._exit(127)


def run(argv: list[str], user: tuple[int, int] | None, expose: list[str]) -> int:
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    # Signals wait until the forwarding handlers know the main process.
    signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
    main = os.fork()
    if main == 0:
        _exec(argv, user, expose)
    running = [True]  # once reaped, its pid may name another process: no more forwarding

    def forward(sig: int, _: object) -> None:
        if running[0]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(main, sig)

    for sig in FORWARDED:
        signal.signal(sig, forward)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
    while True:
        pid, status = os.waitpid(-1, 0)  # also reaps orphans re-parented here
        if pid == main:
            running[0] = False
            break
    code = os.waitstatus_to_exitcode(status)
    # The container ends with its main process: nothing of it may stay behind.
    while True:
        kill_tree(os.getpid())
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
    return 128 - code if code < 0 else code


def main() -> None:
    args = sys.argv[1:]
    user: tuple[int, int] | None = None
    expose: list[str] = []
    while args[:1] in (["--user"], ["--expose"]) and len(args) > 1:
        if args[0] == "--user":
            uid, gid = args[1].split(":")
            user = (int(uid), int(gid))
        else:
            expose.append(args[1])
        args = args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        sys.exit("usage: podinit.py [--user UID:GID [--expose PATH]...] -- ARGV...")
    sys.exit(run(args, user, expose))


if __name__ == "__main__":
    main()
