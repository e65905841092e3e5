"""`make run`'s log follower: compose-style prefixes, whole lines only, the backlog of each file,
truncated files read again from the top, colours only when asked, a stop between two lines."""

from __future__ import annotations

import io
from pathlib import Path

from longtask.devstack import logfollow


def append(path: Path, text: str) -> None:
    with open(path, "a") as handle:
        handle.write(text)


def test_lines_are_prefixed_with_their_component_padded_to_the_longest_name(
    tmp_path: Path,
) -> None:
    gateway, redis = tmp_path / "gateway.log", tmp_path / "redis.log"
    append(gateway, "old 1\nold 2\nold 3\n")
    redis.touch()
    out = io.StringIO()
    follower = logfollow.Follower(
        [("gateway", gateway), ("redis", redis)], out, colour=False, backlog_lines=2
    )
    assert follower.poll() == 2  # the last two lines of the backlog
    append(redis, "ready\n")
    append(gateway, "GET /healthz 200\n")
    assert follower.poll() == 2
    assert out.getvalue().splitlines() == [
        "gateway | old 2",
        "gateway | old 3",
        "gateway | GET /healthz 200",
        "redis   | ready",
    ]


def test_a_partial_line_waits_for_its_end(tmp_path: Path) -> None:
    log = tmp_path / "operator.log"
    log.touch()
    out = io.StringIO()
    follower = logfollow.Follower([("operator", log)], out, colour=False)
    append(log, "half a li")
    assert follower.poll() == 0
    append(log, "ne\nnext\n")
    assert follower.poll() == 2
    assert out.getvalue().splitlines() == ["operator | half a line", "operator | next"]


def test_a_truncated_file_is_read_again_from_the_top(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    append(log, "a long first life of this file\n")
    out = io.StringIO()
    follower = logfollow.Follower([("localnode", log)], out, colour=False, backlog_lines=0)
    assert follower.poll() == 0
    log.write_text("new\n")
    assert follower.poll() == 1
    assert out.getvalue() == "localnode | new\n"


def test_a_missing_file_is_followed_once_it_appears(tmp_path: Path) -> None:
    log = tmp_path / "late.log"
    out = io.StringIO()
    follower = logfollow.Follower([("late", log)], out, colour=False)
    assert follower.poll() == 0
    append(log, "here now\n")
    assert follower.poll() == 1


def test_a_stop_during_a_flood_comes_before_the_next_line(tmp_path: Path) -> None:
    log = tmp_path / "kube-apiserver.log"
    log.touch()
    out = io.StringIO()
    follower = logfollow.Follower([("kube-apiserver", log)], out, colour=False)
    append(log, "".join(f"line {n}\n" for n in range(1000)))
    asked: list[None] = []

    def keep_going() -> bool:  # the loop's own question, then one per line: two lines, then stop
        asked.append(None)
        return len(asked) <= 3

    follower.run(keep_going)
    assert out.getvalue().splitlines() == ["kube-apiserver | line 0", "kube-apiserver | line 1"]


def test_colours_follow_compose_order_and_reset_after_the_prefix() -> None:
    assert logfollow.prefix("gateway", 9, "36") == "\x1b[36mgateway   | \x1b[0m"
    assert logfollow.prefix("redis", 5, None) == "redis | "
    assert not logfollow.colour_wanted(io.StringIO())  # not a terminal
