"""`longtask-operator`: run the operator with settings from the environment (see settings.py)."""

from __future__ import annotations

import asyncio
import logging

import kopf
import uvloop

from . import handlers, settings


def main() -> None:
    config = settings.from_env()
    kopf.configure(log_format=kopf.LogFormat.JSON, log_refkey="k8s")
    # kopf logs every handled watch event per object; the runner's progress patches would flood.
    logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    registry = kopf.OperatorRegistry()
    handlers.register(registry, config)
    liveness = f"http://0.0.0.0:{config.liveness_port}/healthz" if config.liveness_port else None
    # uvloop, as kopf's own command line uses when it is installed (kopf.run alone does not).
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        kopf.run(
            loop=runner.get_loop(),
            registry=registry,
            standalone=True,
            clusterwide=not config.namespaces,
            namespaces=list(config.namespaces),
            liveness_endpoint=liveness,
        )


if __name__ == "__main__":
    main()
