"""Admission: every reason to refuse a LongTask spec that the CRD schema cannot state.

One module for the gateway and the operator, so that the two cannot drift: the gateway refuses
such a spec at submit (422, one detail per problem), the operator refuses a LongTask created
some other way (kubectl, Helm) before its first Job: it ends `Failed` with reason `InvalidSpec`
and a message naming each problem, never retried (a bad spec stays bad). Checks that need a
lookup in the cluster (the service account, say) take what was looked up as an argument.

Design choices:
1. A problem names its field as a path inside `spec` (`("env", 2, "name")`); each side renders
   it its own way (`spec.env[2].name` in the operator's message, `body.env.2.name` in the
   gateway's 422, where pydantic's own field errors look the same).
2. Only what the Kubernetes API server would refuse when the operator creates the Job, or what
   the runner contract forbids: a spec that passes here runs.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from . import resource, runnerenv

Path = tuple[str | int, ...]

# The runner image and service account of a LongTask that names none: the operator's defaults,
# which its settings (LONGTASK_RUNNER_IMAGE, LONGTASK_RUNNER_SERVICE_ACCOUNT) and the gateway's
# override alike.
DEFAULT_RUNNER_IMAGE: Final = "longtask/runner:0.1.0"
DEFAULT_RUNNER_SERVICE_ACCOUNT: Final = "longtask-runner"

# The environment variables of the runner contract start with this prefix. A task may set only
# the tuning knobs below; every other such name is the operator's (it sets them per attempt, and
# the runner trusts them), so a task's own env must not set it.
RESERVED_ENV_PREFIX: Final = "LONGTASK_"
TASK_TUNABLE_ENV: Final = frozenset(
    {runnerenv.STATUS_INTERVAL, runnerenv.HEARTBEAT_INTERVAL, runnerenv.LOG_LEVEL}
)

# Container resources Kubernetes knows by a plain name; any other needs a domain prefix.
_STANDARD_RESOURCES: Final = frozenset({"cpu", "memory", "ephemeral-storage"})
_HUGEPAGES_PREFIX: Final = "hugepages-"
_QUALIFIED_NAME_RE: Final = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$"
)
_QUANTITY_RE: Final = re.compile(
    r"^(?P<number>[+-]?(\d+(\.\d*)?|\.\d+))"
    r"(?P<suffix>[KMGTPE]i|[numkMGTPE]|[eE][+-]?(\d+(\.\d*)?|\.\d+))?$"
)
_BINARY: Final = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL: Final = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


@dataclasses.dataclass(frozen=True, slots=True)
class Problem:
    """Why a spec is refused: the field (a path inside `spec`) and a sentence for a person."""

    field: Path
    message: str

    def spec_field(self) -> str:
        """The field as the operator names it: `spec.env[2].name`."""
        text = "spec"
        for part in self.field:
            text += f"[{part}]" if isinstance(part, int) else f".{part}"
        return text

    def __str__(self) -> str:
        return f"{self.spec_field()}: {self.message}"


def params_json(spec: resource.Spec) -> str:
    """`spec.params` as the compact JSON the runner receives (`{}` when absent)."""
    return json.dumps(spec.get("params") or {}, separators=(",", ":"), ensure_ascii=False)


def _kib(size: int) -> str:
    return f"{size / 1024:.1f} KiB"


def problems(spec: Mapping[str, Any]) -> list[Problem]:
    """Every reason to refuse `spec`; empty when the spec is acceptable."""
    found: list[Problem] = []
    if ("task" in spec) == ("command" in spec):
        found.append(Problem((), "exactly one of spec.task and spec.command must be set"))
    found += _params(spec)
    command = spec.get("command")
    if command is not None and (
        not isinstance(command, list) or not command or not all(isinstance(a, str) for a in command)
    ):
        found.append(Problem(("command",), "must be a non-empty list of strings"))
    found += _env(spec.get("env"))
    found += _resources(spec.get("resources"))
    return found


def service_account_problem(
    name: str, namespace: str, labels: Mapping[str, str] | None
) -> Problem | None:
    """Why a task may not run as the account `name` (its labels, None when it does not exist):
    only an account marked for longtask use may run tasks. The mark keeps whoever may create a
    LongTask from running as any account of the namespace (one that reads Secrets, say)."""
    field = ("serviceAccountName",)
    if labels is None:
        return Problem(field, f"service account {name!r} does not exist in namespace {namespace!r}")
    if labels.get(resource.LABEL_RUNNER) == resource.RUNNER_MARK:
        return None
    return Problem(
        field,
        f"service account {name!r} of namespace {namespace!r} is not marked for longtask use: "
        f"an admin of the namespace marks it with `kubectl label serviceaccount {name} "
        f"-n {namespace} {resource.LABEL_RUNNER}={resource.RUNNER_MARK}`",
    )


def image_reference(image: str) -> str:
    """`image` in full, as the container runtime reads it: `python:3.12` is
    `docker.io/library/python:3.12`, `team/app` is `docker.io/team/app`."""
    first, slash, _ = image.partition("/")
    if not slash:
        return f"docker.io/library/{image}"
    if "." in first or ":" in first or first == "localhost":
        return image
    return f"docker.io/{image}"


def default_image_patterns(runner_image: str) -> tuple[str, ...]:
    """The runner image's registry path: every image beside it (`ghcr.io/longtask/*` for
    `ghcr.io/longtask/longtask-runner:0.1.0`), the runner image included."""
    path = image_reference(runner_image).split("@", 1)[0].rsplit("/", 1)[0]
    return (f"{path}/*",)


def image_problem(image: object, patterns: Sequence[str]) -> Problem | None:
    """Why a task may not run `image` (`spec.image`; None: the runner image, always allowed).
    Patterns are globs (`*` matches across `/`) over the full reference (see image_reference)."""
    if image is None:
        return None
    if isinstance(image, str) and any(
        fnmatch.fnmatchcase(image_reference(image), p) for p in patterns
    ):
        return None
    allowed = ", ".join(patterns) or "none"
    return Problem(
        ("image",),
        f"{str(image)[:256]!r} is not an allowed image (allowed: {allowed}); the operator's "
        "setting of allowed images says which registries tasks may run from",
    )


def _params(spec: Mapping[str, Any]) -> list[Problem]:
    params = spec.get("params")
    if params is not None and not isinstance(params, dict):
        return [Problem(("params",), "must be a JSON object")]
    size = len(params_json(resource.Spec(params=params or {})).encode())
    if size <= resource.PARAMS_MAX_BYTES:
        return []
    return [
        Problem(
            ("params",),
            f"{_kib(size)} of JSON, more than the limit of "
            f"{_kib(resource.PARAMS_MAX_BYTES)} ({size} > {resource.PARAMS_MAX_BYTES} bytes)",
        )
    ]


def reserved_env(name: object) -> bool:
    """Whether a task's own env must not set `name` (see RESERVED_ENV_PREFIX)."""
    return (
        isinstance(name, str)
        and name.startswith(RESERVED_ENV_PREFIX)
        and name not in TASK_TUNABLE_ENV
    )


def _env(env: object) -> list[Problem]:
    if not isinstance(env, list):
        return []
    found = []
    for index, entry in enumerate(env):
        name = entry.get("name") if isinstance(entry, dict) else None
        if reserved_env(name):
            tunable = ", ".join(sorted(TASK_TUNABLE_ENV))
            found.append(
                Problem(
                    ("env", index, "name"),
                    f"{name} is reserved: names starting with {RESERVED_ENV_PREFIX} are set by "
                    f"the operator, except {tunable}",
                )
            )
    return found


def quantity(value: object) -> Decimal:
    """The amount of a Kubernetes quantity (`500m`, `1Gi`, `2`); ValueError when it is none."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("must be a quantity such as 500m, 2 or 1Gi")
    match = _QUANTITY_RE.match(str(value))
    if match is None:
        raise ValueError(f"{str(value)[:64]!r} is not a quantity such as 500m, 2 or 1Gi")
    try:
        number = Decimal(match["number"])
        suffix = match["suffix"] or ""
        if suffix in _BINARY:
            return number * _BINARY[suffix]
        if suffix[:1] in ("e", "E"):
            return number.scaleb(int(Decimal(suffix[1:])))
        return number.scaleb(_DECIMAL.get(suffix, 0))
    except (InvalidOperation, ValueError, OverflowError):
        raise ValueError(f"{str(value)[:64]!r} is out of range") from None


def _resource_name_problem(name: str) -> str | None:
    if "/" not in name:
        if name in _STANDARD_RESOURCES or name.startswith(_HUGEPAGES_PREFIX):
            return None
        return (
            "is not a container resource (cpu, memory, ephemeral-storage, hugepages-<size>, "
            "or a name with a domain prefix such as example.com/gpu)"
        )
    if len(name) > 253 + 1 + 63 or not _QUALIFIED_NAME_RE.match(name):
        return "is not a valid resource name (domain/name)"
    if "kubernetes.io/" in name:
        return "is a kubernetes.io resource a container cannot request"
    return None


def _overcommitable(name: str) -> bool:
    """cpu, memory and ephemeral-storage may be requested below their limit; the rest may not."""
    return name in _STANDARD_RESOURCES


def _resources(resources: object) -> list[Problem]:
    if not isinstance(resources, dict):
        return []
    found: list[Problem] = []
    amounts: dict[str, dict[str, Decimal]] = {}
    for kind in ("requests", "limits"):
        entries = resources.get(kind)
        if not isinstance(entries, dict):
            continue
        amounts[kind] = {}
        for name, value in entries.items():
            where: Path = ("resources", kind, str(name))
            if (name_problem := _resource_name_problem(str(name))) is not None:
                found.append(Problem(where, f"{name!r} {name_problem}"))
                continue
            try:
                amount = quantity(value)
            except ValueError as exc:
                found.append(Problem(where, str(exc)))
                continue
            if amount < 0:
                found.append(Problem(where, "must not be negative"))
                continue
            amounts[kind][str(name)] = amount
    requests, limits = amounts.get("requests", {}), amounts.get("limits", {})
    for name, request in requests.items():
        limit = limits.get(name)
        where = ("resources", "requests", name)
        if limit is not None and request > limit:
            shown = resources["limits"][name]
            found.append(Problem(where, f"must be at most its limit ({shown})"))
        elif not _overcommitable(name) and limit != request:
            found.append(
                Problem(where, f"{name} cannot be overcommitted: set the same value as a limit")
            )
    named = set(requests) | set(limits)
    if any(n.startswith(_HUGEPAGES_PREFIX) for n in named) and not named & {"cpu", "memory"}:
        found.append(Problem(("resources",), "hugepages need a cpu or memory request or limit"))
    return found
