"""Kubernetes label selectors, parsed and matched in the gateway.

The API server filters lists by label selector itself; the gateway needs its own matcher only
for what it fans out from the one shared watch of a namespace (the namespace stream's
`labelSelector`). The grammar is the API server's set-based one: `key`, `!key`, `key=value`,
`key==value`, `key!=value`, `key in (a,b)`, `key notin (a,b)`, joined by commas. What it does not
parse is refused with a ValueError (the route answers 400), never matched loosely.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from longtask.core import wire

MAX_CHARS: Final = 1024
_REQUIREMENT: Final = re.compile(
    r"""\s*(?:
        (?P<not>!)\s*(?P<absent>[^\s,=!()]+)
      | (?P<key>[^\s,=!()]+)\s*
        (?:
            (?P<op>==|=|!=)\s*(?P<value>[^\s,=!()]*)
          | (?P<set>in|notin)\s*\((?P<values>[^()]*)\)
        )?
    )\s*(?:,|$)""",
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    op: str
    """exists, !, =, !=, in or notin."""
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and labels[self.key] in self.values
        return not present or labels[self.key] not in self.values  # != and notin


@dataclass(frozen=True, slots=True)
class Selector:
    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements)


EVERYTHING: Final = Selector()


def parse(text: str) -> Selector:
    """The selector `text` spells; ValueError naming what is wrong."""
    if len(text) > MAX_CHARS:
        raise ValueError(f"a label selector is at most {MAX_CHARS} characters")
    found: list[Requirement] = []
    position = 0
    while position < len(text.rstrip()):
        match = _REQUIREMENT.match(text, position)
        if match is None or match.end() == position:
            raise ValueError(f"cannot parse the label selector at {text[position:][:40]!r}")
        found.append(_requirement(match))
        position = match.end()
    return Selector(tuple(found))


def _requirement(match: re.Match[str]) -> Requirement:
    if match["not"]:
        return Requirement(_key(match["absent"]), "!")
    key = _key(match["key"])
    if match["op"]:
        op = "!=" if match["op"] == "!=" else "="
        return Requirement(key, op, frozenset({_value(match["value"])}))
    if match["set"]:
        values = [v.strip() for v in match["values"].split(",")]
        if not any(values):
            raise ValueError(f"{key} {match['set']} (…) needs at least one value")
        return Requirement(key, match["set"], frozenset(_value(v) for v in values))
    return Requirement(key, "exists")


def _key(key: str) -> str:
    if not wire.LABEL_KEY_RE.match(key):
        raise ValueError(f"{key!r} is not a valid label key")
    return key


def _value(value: str) -> str:
    if not wire.LABEL_VALUE_RE.match(value):
        raise ValueError(f"{value!r} is not a valid label value")
    return value
