"""Handler registration: into the registry given, never kopf's global one."""

from __future__ import annotations

import json

import kopf
from longtask.core import resource, schedule, taskqueue
from longtask.operator import handlers
from longtask.operator.settings import Settings


def test_handlers_go_into_a_fresh_registry_each_time() -> None:
    first, second = kopf.OperatorRegistry(), kopf.OperatorRegistry()
    handlers.register(first, Settings())
    handlers.register(second, Settings())
    for registry in (first, second):
        watched = {
            (h.selector.group, h.selector.plural or h.selector.any_name)
            for h in registry._watching.get_all_handlers()
            if h.selector is not None
        }
        assert watched == {
            (resource.GROUP, resource.PLURAL),
            (schedule.GROUP, schedule.PLURAL),
            (taskqueue.GROUP, taskqueue.PLURAL),
            ("batch", "jobs"),
            # The namespaces where tasks may run (provisioner.py, which watches the
            # runner's accounts and RoleBindings itself).
            ("", "namespaces"),
        }
        # No change-detecting handlers, daemons or timers: kopf writes nothing on the objects.
        assert not registry._changing.get_all_handlers()
        assert not registry._spawning.get_all_handlers()
    assert not kopf.get_default_registry()._watching.get_all_handlers()


def test_kopf_builds_no_diff_base_from_a_watched_object() -> None:
    # Nothing reads one (no change-detecting handlers, above); building it copied every object.
    storage = handlers.NoDiffBase()
    body = kopf.Body({"metadata": {"name": "t"}, "spec": {"command": ["x"]}, "status": {}})
    assert storage.build(body=body) == {}
    assert storage.fetch(body=body) is None


def test_kopf_watch_streams_decode_with_orjson_as_json_would() -> None:
    from kopf._cogs.clients import api as kopf_api

    assert handlers.fast_watch_json() and handlers.fast_watch_json()  # once, and it stays
    loads = kopf_api.json.loads  # type: ignore[attr-defined]  # what kopf's stream reader calls
    assert loads is handlers.WatchJson.loads
    line = b'{"type": "MODIFIED", "object": {"metadata": {"name": "t\\u00e9"}, "n": [1.5, null]}}'
    assert loads(line.decode()) == json.loads(line)
    lone = '{"name": "\\ud800"}'  # a lone surrogate: refused by orjson, read by json
    assert loads(lone) == json.loads(lone)
