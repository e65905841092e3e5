"""The stdout line protocol of command tasks and the line splitter."""

from __future__ import annotations

import pytest
from longtask.runner import protocol


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("::progress 42 parsing doc 3", protocol.Progress(42.0, "parsing doc 3")),
        ("::progress 12.5", protocol.Progress(12.5, "")),
        ("::progress   7   spaced  out  ", protocol.Progress(7.0, "spaced  out")),
        ("::progress 0 start", protocol.Progress(0.0, "start")),
        ("::progress 100 done", protocol.Progress(100.0, "done")),
        ('::result {"docs": 3}', protocol.Result({"docs": 3})),
        ("::result 7", protocol.Result(7)),
        ("::result null", protocol.Result(None)),
        ("::output Hello", protocol.Chunk("Hello")),
        ("::output  two spaces kept ", protocol.Chunk(" two spaces kept ")),
        ("::output", protocol.Chunk("")),
        ('::output-json {"doc": 1}', protocol.Chunk({"doc": 1}, is_json=True)),
        ('::output-json "line\\n"', protocol.Chunk("line\n", is_json=True)),
    ],
)
def test_protocol_lines_parse_to_reports(line: str, expected: protocol.Line) -> None:
    assert protocol.parse(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "::progressive 10 another word",
        "::resultant 1",
        "::outputs 1",
        "plain output",
        "",
        "  ::progress 10 indented is output",
    ],
)
def test_other_lines_pass_through_as_output(line: str) -> None:
    assert protocol.parse(line) == protocol.Output(line)


@pytest.mark.parametrize(
    "line",
    [
        "::progress",
        "::progress ",
        "::progress abc not a number",
        "::progress 101 too much",
        "::progress -1 negative",
        "::progress nan what",
        "::progress NaN what",
        "::progress inf what",
        "::progress 1e400 what",
    ],
)
def test_a_bad_progress_line_is_a_protocol_error_that_keeps_the_attempt(line: str) -> None:
    parsed = protocol.parse(line)
    assert isinstance(parsed, protocol.ProtocolError) and not parsed.fatal
    assert parsed.line == line and "progress unchanged" in parsed.message


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("::result", "one JSON value"),
        ("::result {not json", "one JSON value"),
        ("::result NaN", "result: NaN is not a JSON number"),
        ('::result {"a": [Infinity]}', "result.a[0]: is out of range"),
        ("::result 1e400", "must be finite"),
        ("::result 99999999999999999999999", "must fit 64 bits"),
        ("::result " + "[" * 5000 + "]" * 5000, "one JSON value"),
    ],
)
def test_a_bad_result_line_is_a_fatal_protocol_error(line: str, said: str) -> None:
    parsed = protocol.parse(line)
    assert isinstance(parsed, protocol.ProtocolError) and parsed.fatal
    assert said in parsed.message


def whole(pieces: object) -> list[str]:
    lines = list(pieces)  # type: ignore[call-overload]
    assert all(cut is None for _, cut in lines)
    return [text for text, _ in lines]


def test_splitter_joins_lines_split_across_chunks() -> None:
    splitter = protocol.LineSplitter()
    lines = [
        *splitter.feed(b"::progress 1"),
        *splitter.feed(b"0 a\nsecond\r\nthi"),
        *splitter.feed(b"rd\n"),
    ]
    assert whole(lines) == ["::progress 10 a", "second", "third"]
    assert list(splitter.close()) == []


def test_splitter_returns_an_unterminated_last_line_at_close() -> None:
    splitter = protocol.LineSplitter()
    assert whole(splitter.feed(b"one\ntail")) == ["one"]
    assert whole(splitter.close()) == ["tail"]


def test_splitter_keeps_the_start_of_a_long_line_and_its_size() -> None:
    splitter = protocol.LineSplitter(max_bytes=4)
    assert list(splitter.feed(b"abcdefghij\nxy\n")) == [("abcd", 10), ("xy", None)]


def test_a_10_mb_line_keeps_a_bounded_start_and_is_never_buffered_whole() -> None:
    splitter = protocol.LineSplitter(max_bytes=1024)
    got = [piece for _ in range(160) for piece in splitter.feed(b"0123456789" * 6554)]
    assert got == [] and len(splitter._buffer) <= 1024
    assert list(splitter.feed(b"end\nnext")) == [("0123456789" * 102 + "0123", 160 * 65540 + 3)]
    assert list(splitter.close()) == [("next", None)]


def test_splitter_reports_an_unterminated_long_line_at_close() -> None:
    splitter = protocol.LineSplitter(max_bytes=8)
    assert list(splitter.feed(b"x" * 100)) == []
    assert list(splitter.close()) == [("x" * 8, 100)]


def test_a_cut_result_line_is_a_fatal_protocol_error() -> None:
    parsed = protocol.parse_cut("::result [" + "1," * 100)
    assert isinstance(parsed, protocol.ProtocolError) and parsed.fatal
    assert protocol.parse_cut("plain") == protocol.Output("plain")


def test_splitter_replaces_invalid_utf8() -> None:
    splitter = protocol.LineSplitter()
    assert whole(splitter.feed(b"caf\xc3\xa9 \xff\n")) == ["café \ufffd"]


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("::output-json", "one JSON value"),
        ("::output-json {not json", "one JSON value"),
        ("::output-json [NaN]", "chunk[0]: NaN is not a JSON number"),
    ],
)
def test_a_bad_output_json_line_is_reported_not_fatal(line: str, said: str) -> None:
    parsed = protocol.parse(line)
    assert isinstance(parsed, protocol.ProtocolError) and not parsed.fatal
    assert said in parsed.message and "nothing output" in parsed.message


def test_a_cut_output_line_outputs_nothing_and_is_reported() -> None:
    parsed = protocol.parse_cut("::output " + "x" * 100)
    assert isinstance(parsed, protocol.ProtocolError) and not parsed.fatal
