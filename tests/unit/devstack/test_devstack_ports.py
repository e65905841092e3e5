"""Listening ports of the local stack come from below the ephemeral range, where an outgoing
connection cannot take them between the check and the server's bind."""

from __future__ import annotations

import random
import socket

import pytest
from longtask.devstack import procs


def test_free_port_is_below_the_ephemeral_range_and_bindable() -> None:
    low = procs._ephemeral_low()
    for _ in range(20):
        port = procs.free_port()
        assert 10000 <= port < low
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_free_port_skips_a_port_in_use(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = int(taken.getsockname()[1])
        picks = iter([busy, busy, 12345])
        monkeypatch.setattr(random, "randrange", lambda a, b: next(picks))
        monkeypatch.setattr(procs, "_LISTEN_PORTS_FROM", min(busy, 12345) - 1)
        monkeypatch.setattr(procs, "_ephemeral_low", lambda: max(busy, 12345) + 1000)
        assert procs.free_port() == 12345


def test_free_port_falls_back_to_the_kernel_without_room_below(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(procs, "_ephemeral_low", lambda: 10050)
    assert procs.free_port() > 0
