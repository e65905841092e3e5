"""Kubernetes label selectors, parsed (pure): `a=b`, `a==b`, `a!=b`, `a in (x,y)`,
`a notin (x,y)`, `a`, `!a`, joined by commas (all must hold).

The same syntax and meaning as `kubectl get -l`: `!=` and `notin` also match a task without
the label. A malformed selector raises ValueError with the part it could not read.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from typing import Final

MAX_SELECTOR_CHARS: Final = 4096
MAX_REQUIREMENTS: Final = 32

_KEY = r"(?:[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?"
_VALUE = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_SET = re.compile(rf"^({_KEY})\s+(in|notin)\s+\(\s*({_VALUE}(?:\s*,\s*{_VALUE})*)\s*\)$")
_EQUALITY = re.compile(rf"^({_KEY})\s*(==|=|!=)\s*({_VALUE})$")
_EXISTS = re.compile(rf"^(!?)\s*({_KEY})$")


class Op(enum.StrEnum):
    IN = "in"
    NOT_IN = "notin"
    EXISTS = "exists"
    NOT_EXISTS = "!"


@dataclasses.dataclass(frozen=True)
class Requirement:
    key: str
    op: Op
    values: tuple[str, ...] = ()


def parse(selector: str) -> tuple[Requirement, ...]:
    """The requirements of a selector (empty for an empty selector)."""
    if len(selector) > MAX_SELECTOR_CHARS:
        raise ValueError(f"the selector is longer than {MAX_SELECTOR_CHARS} characters")
    parts = [p.strip() for p in _split(selector) if p.strip()]
    if len(parts) > MAX_REQUIREMENTS:
        raise ValueError(f"at most {MAX_REQUIREMENTS} requirements per selector")
    return tuple(_requirement(part) for part in parts)


def _split(selector: str) -> list[str]:
    """Split on the commas outside parentheses."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _requirement(part: str) -> Requirement:
    if found := _SET.match(part):
        values = tuple(v.strip() for v in found.group(3).split(","))
        return Requirement(found.group(1), Op(found.group(2)), values)
    if found := _EQUALITY.match(part):
        op = Op.NOT_IN if found.group(2) == "!=" else Op.IN
        return Requirement(found.group(1), op, (found.group(3),))
    if found := _EXISTS.match(part):
        return Requirement(found.group(2), Op.NOT_EXISTS if found.group(1) else Op.EXISTS)
    raise ValueError(f"cannot read the requirement {part!r}")
