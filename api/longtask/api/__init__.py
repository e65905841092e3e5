"""The longtask gateway: a FastAPI app to submit, list, control and follow LongTasks.

`main` assembles the app from one router per resource (`routers/`); `launch` is the console
script; `settings` holds its one settings object, `runtime` its long-lived clients; `deps` the
dependencies shared by the routers. The request and response models are `longtask.core.wire`
(shared with the client).
Following a task: `hub` (one multiplexed Redis reader fanning out to clients), `watches` (one
shared LongTask watch per namespace), `follow` (the frames one client receives), `tracking`
(the Redis-outage fallback). Pure logic the unit tests exercise without a cluster:
`taskobjects` (LongTask bodies and views), `sse` (event encoding), `streamids` (resume ids),
`streamtokens` (signed stream tokens), `apikeys`, `errors`.
"""
