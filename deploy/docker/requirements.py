"""Prints the requirements of longtask's base and the extras named, one per line.

The image builds install the dependencies in a layer of their own, from pyproject.toml alone
(before the sources are copied). An extra may name others (`longtask[history]`): those are
expanded here, since pip cannot resolve `longtask[...]` without longtask's sources.

Usage: python requirements.py pyproject.toml [extra...]
"""

import re
import sys
import tomllib
from typing import Any

SELF = re.compile(r"^longtask\[(?P<extras>[^\]]+)\]$")


def requirements(project: dict[str, Any], extras: list[str]) -> list[str]:
    optional = project.get("optional-dependencies", {})
    found: list[str] = list(project["dependencies"])
    seen: set[str] = set()
    pending = list(extras)
    while pending:
        extra = pending.pop(0)
        if extra in seen:
            continue
        seen.add(extra)
        for requirement in optional[extra]:
            named = SELF.match(requirement.replace(" ", ""))
            if named:
                pending.extend(named["extras"].split(","))
            else:
                found.append(requirement)
    return list(dict.fromkeys(found))


if __name__ == "__main__":
    with open(sys.argv[1], "rb") as file:
        project = tomllib.load(file)["project"]
    print("\n".join(requirements(project, sys.argv[2:])))
