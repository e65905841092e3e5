"""With a metrics port of its own the gateway serves /metrics there and not on the API's port,
so that a NetworkPolicy can admit scrapes from one namespace while the API stays open."""

from __future__ import annotations

import httpx
from longtask.core import metrics
from longtask.devstack import procs

from tests.fixtures.gateway import GatewayFactory


def test_metrics_on_their_own_port_only(gateway_factory: GatewayFactory) -> None:
    port = procs.free_port()
    gw = gateway_factory(metrics_port=str(port))
    with gw.client() as http:
        assert http.get("/healthz").status_code == 200
        moved = http.get("/metrics")
    assert moved.status_code == 404
    assert moved.json()["message"] == f"metrics are served on port {port}"
    scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert scraped.status_code == 200
    assert f'{metrics.HTTP_REQUESTS}{{code="200",method="GET",route="/healthz"}}' in scraped.text
