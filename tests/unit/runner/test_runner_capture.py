"""A Python task's prints reach both stdout and the task's log stream, line by line."""

from __future__ import annotations

import io
import sys
import threading

from longtask.runner import capture


def test_lines_are_teed_and_partial_lines_wait_for_their_newline() -> None:
    target = io.StringIO()
    lines: list[str] = []
    tee = capture.LineTee(target, lines.append)
    tee.write("one\ntw")
    assert lines == ["one"]
    tee.write("o\r\nthree")
    assert lines == ["one", "two"]
    tee.close_partial()
    assert lines == ["one", "two", "three"]
    assert target.getvalue() == "one\ntwo\r\nthree"


def test_a_line_without_newline_is_passed_on_at_the_size_limit() -> None:
    lines: list[str] = []
    tee = capture.LineTee(io.StringIO(), lines.append)
    tee.write("x" * capture.MAX_PARTIAL_CHARS)
    assert lines == ["x" * capture.MAX_PARTIAL_CHARS]


def test_print_inside_the_block_is_captured_and_stdout_restored() -> None:
    lines: list[str] = []
    original = sys.stdout
    with capture.stdout_lines(lines.append):
        print("hello from the task")
        print("no newline yet", end="")
    assert sys.stdout is original
    assert lines == ["hello from the task", "no newline yet"]


def test_prints_from_threads_are_whole_lines() -> None:
    lines: list[str] = []
    tee = capture.LineTee(io.StringIO(), lines.append)

    def writer(name: str) -> None:
        for i in range(500):
            tee.write(f"{name} {i}\n")

    threads = [threading.Thread(target=writer, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(lines) == 2000
    assert all(line.split()[0] in {"t0", "t1", "t2", "t3"} for line in lines)
