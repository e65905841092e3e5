"""JSON values the Kubernetes API server stores exactly as they were sent.

The API server decodes JSON numbers into int64 or float64. `NaN` and `Infinity` are not JSON
(Python's json module writes and reads them by default; the API server answers 400), `1e400`
overflows float64 (Python reads it as infinity, which pydantic then writes as null), and an
integer beyond int64 silently becomes a float (99999999999999999999999 is stored as 1e+23).
Params, results and any other value longtask hands to the API server are checked here first,
so such a number is refused with the path that holds it instead of stored as something else.

`loads` reads JSON the way the checks need it (an integer too long for Python's int conversion
limit is kept as `BigInt` instead of failing the whole document); `problems` names every value
that would not survive. Both are iterative: a deeply nested value cannot exhaust the stack.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, Final

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
# Digits of an integer read as a Python int; longer ones are out of range anyway.
_MAX_INT_DIGITS: Final = 20

Path = tuple[str | int, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class BigInt:
    """An integer literal too long to be read as an int (it is outside int64 in any case)."""

    text: str


@dataclasses.dataclass(frozen=True, slots=True)
class Problem:
    """A number that would not be stored as sent: where it is and why."""

    path: Path
    message: str

    def where(self, root: str) -> str:
        """The path from `root` (`params.items[2].x`)."""
        text = root
        for part in self.path:
            text += f"[{part}]" if isinstance(part, int) else f".{part}"
        return text


def _parse_int(text: str) -> int | BigInt:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        return BigInt(text)
    return int(text)


def loads(text: str | bytes) -> Any:
    """JSON like `json.loads`, but integers longer than 20 digits become `BigInt` (so that
    `problems` can name them); NaN, Infinity and overflowing floats are read as the float."""
    return json.loads(text, parse_int=_parse_int)


def _problem(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN is not a JSON number"
        if math.isinf(value):
            return "is out of range: a JSON number must be finite (at most 1.8e308 in size)"
        return None
    if isinstance(value, BigInt):
        value = value.text
    elif isinstance(value, int):
        if INT64_MIN <= value <= INT64_MAX:
            return None
        value = str(value)
    else:
        return None
    shown = value if len(value) <= 32 else f"{value[:16]}…({len(value)} digits)"
    return (
        f"the integer {shown} is out of range: integers must fit 64 bits "
        f"({INT64_MIN} to {INT64_MAX}); write a larger number as a string"
    )


def problems(value: Any, limit: int = 10) -> list[Problem]:
    """Up to `limit` numbers in `value` that the API server would not store exactly."""
    found: list[Problem] = []
    stack: list[tuple[Path, Any]] = [((), value)]
    while stack and len(found) < limit:
        path, item = stack.pop()
        if isinstance(item, dict):
            stack.extend(((*path, str(k)), v) for k, v in reversed(list(item.items())))
        elif isinstance(item, list | tuple):
            stack.extend(((*path, i), v) for i, v in reversed(list(enumerate(item))))
        elif (message := _problem(item)) is not None:
            found.append(Problem(path, message))
    return found
