"""The longtask gateway: a FastAPI app to submit, list, control and follow LongTasks.

`main` assembles the app from one router per resource (`routers/`); `launch` is the console
script; `settings` holds its one settings object, `runtime` its long-lived clients; `deps` the
dependencies shared by the routers. The request and response models are `longtask.core.wire`
(shared with the client). Following tasks (SSE, WebSocket, the Redis-outage fallback) is the
`streaming` sub-package; the routers only wire it. Pure logic the unit tests exercise without a
cluster: `taskobjects` (LongTask bodies and views), `streamtokens` (signed stream tokens, the
auth of browsers' EventSource), `apikeys`, `errors`, and much of `streaming`.
"""
