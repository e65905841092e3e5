"""Following tasks: everything the gateway's streaming routes send, beside the routers.

One path from Redis to a client: `hub` reads every followed Redis stream of the process with
few multiplexed XREADs and fans entries out to per-client queues; `watches` keeps one shared
LongTask watch per namespace (the namespace stream and the Redis-outage fallback); `tracking`
turns LongTask versions into events while Redis is down; `follow` yields the batches of frames
one client receives (a task's events, or a namespace's tasks) and `logs` those of a log stream;
`sse` encodes frames, `streamids` parses and compares resume ids; `responses` is the SSE
response the routes return and `sockets` sends a follow over a WebSocket. The routers
(`longtask.api.routers`) only check the request and hand its follow to one of those two.
"""
