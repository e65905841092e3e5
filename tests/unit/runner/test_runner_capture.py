"""A Python task's prints reach both stdout and the task's log stream, line by line."""

from __future__ import annotations

import io
import sys
import threading

from longtask.runner import capture


class Lines(list[str]):
    """Collects the lines handed on, and the sizes of the cut ones."""

    def __init__(self) -> None:
        super().__init__()
        self.cuts: list[int | None] = []

    def __call__(self, line: str, cut: int | None) -> None:
        self.append(line)
        self.cuts.append(cut)


def test_lines_are_teed_and_partial_lines_wait_for_their_newline() -> None:
    target = io.StringIO()
    lines = Lines()
    tee = capture.LineTee(target, lines)
    tee.write("one\ntw")
    assert lines == ["one"]
    tee.write("o\r\nthree")
    assert lines == ["one", "two"]
    tee.close_partial()
    assert lines == ["one", "two", "three"]
    assert target.getvalue() == "one\ntwo\r\nthree"


def test_a_line_over_the_limit_keeps_its_start_and_says_how_long_it_was() -> None:
    lines = Lines()
    target = io.StringIO()
    tee = capture.LineTee(target, lines)
    for _ in range(160):  # 10 MiB without a newline, in 64 KiB writes
        tee.write("x" * 65536)
    assert lines == []
    tee.write("é\nnext\n")
    assert lines == ["x" * capture.MAX_PARTIAL_CHARS, "next"]
    assert lines.cuts == [160 * 65536 + 2, None]
    assert len(target.getvalue()) == 160 * 65536 + 7  # stdout still gets all of it


def test_print_inside_the_block_is_captured_and_stdout_restored() -> None:
    lines = Lines()
    original = sys.stdout
    with capture.stdout_lines(lines):
        print("hello from the task")
        print("no newline yet", end="")
    assert sys.stdout is original
    assert lines == ["hello from the task", "no newline yet"]


def test_prints_from_threads_are_whole_lines() -> None:
    lines = Lines()
    tee = capture.LineTee(io.StringIO(), lines)

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
