"""Label selectors parse as kubectl reads them."""

from __future__ import annotations

import pytest
from longtask.history.selectors import Op, Requirement, parse


def test_every_form_of_requirement_parses():
    assert parse("a=b, c==d,e!=f,g in (h, i),j notin (k),l,!m,example.com/x=y") == (
        Requirement("a", Op.IN, ("b",)),
        Requirement("c", Op.IN, ("d",)),
        Requirement("e", Op.NOT_IN, ("f",)),
        Requirement("g", Op.IN, ("h", "i")),
        Requirement("j", Op.NOT_IN, ("k",)),
        Requirement("l", Op.EXISTS),
        Requirement("m", Op.NOT_EXISTS),
        Requirement("example.com/x", Op.IN, ("y",)),
    )
    assert parse("") == () and parse(" , ") == ()


@pytest.mark.parametrize(
    "bad", ["a=b=c", "=b", "a in b", "a in (b", "a=(b)", "a b", "a=" + "x" * 5000]
)
def test_a_malformed_selector_is_refused(bad):
    with pytest.raises(ValueError):
        parse(bad)
