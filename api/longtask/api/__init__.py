"""The longtask gateway: a FastAPI app to submit, list, control and follow LongTasks.

`main` assembles the app from one router per resource (`routers/`); `settings` holds its one
settings object; `deps` the dependencies shared by the routers; `schemas` the request and
response models (the Python client imports them). Pure logic lives in small modules that the
unit tests exercise without a cluster: `taskobjects` (LongTask bodies and views), `sse` (event
encoding), `streamids` (resume ids), `streamtokens` (signed stream tokens), `apikeys`.
"""
