"""Sending a follow over a WebSocket: each frame as one JSON message `{id, event, data}`.

The same frames as the SSE stream (`follow`), with the same limits: a batch that cannot be sent
within the send timeout, or a client that fell behind, is closed with WS_DROPPED and resumes with
`?lastEventId=`. The route checks the request and accepts the socket; this module does the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Final

from fastapi import WebSocket, WebSocketDisconnect
from longtask.api import observability as obs
from longtask.api.streaming.follow import Batches, Dropped
from longtask.core import wire

# Close codes (4000-4999 are for applications): 4000 + the HTTP status of the same refusal where
# there is one, so that a client can tell every refusal apart. The socket is accepted first and
# closed with the code and a reason: a refusal before accepting reaches the client as a bare 403.
WS_BAD_REQUEST: Final = 4400  # a malformed namespace, name or lastEventId
WS_UNAUTHORIZED: Final = 4401  # no credentials, or a bearer token the gateway does not accept
WS_FORBIDDEN: Final = 4403  # the caller may not read this namespace's tasks
WS_NOT_FOUND: Final = 4404  # no such task (or namespace)
WS_DROPPED: Final = 4408  # the client fell behind: reconnect with lastEventId
WS_TOKEN_REFUSED: Final = 4419  # a stream token that is invalid, expired or for another stream
WS_UNAVAILABLE: Final = 4503  # Kubernetes (or Redis) did not answer: retry later


async def send(ws: WebSocket, batches: Batches, send_timeout: float) -> None:
    """Send every batch to the accepted `ws`, then close it (see the module docstring)."""
    obs.SSE_CLIENTS.inc()
    try:
        async with contextlib.aclosing(batches):
            async for batch in batches:
                async with asyncio.timeout(send_timeout):
                    for frame in batch:
                        message = wire.StreamEvent(id=frame.id, event=frame.event, data={})
                        payload = message.model_dump(mode="json")
                        payload["data"] = frame.payload()
                        await ws.send_json(payload)
                obs.SSE_EVENTS_SENT.inc(len(batch))
            await ws.close()
    except (Dropped, TimeoutError):
        obs.SSE_CLIENTS_DROPPED.inc()
        await ws.close(WS_DROPPED, "fell behind; reconnect with lastEventId")
    except WebSocketDisconnect:
        pass
    finally:
        obs.SSE_CLIENTS.dec()
