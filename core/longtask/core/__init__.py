"""Contracts shared by every longtask component.

Each module here owns one contract of `shared/design.md`: `resource` the LongTask resource (field
names and the object's typed shape, phases, condition types and reasons, labels, exit codes, size
limits), `keys` the Redis key names and their lifetimes, `events` the event payloads of a task's
stream and the SSE event names, `deadletters` the entries of the dead-letter stream, `taskstate`
what a follower knows of a task and the one fold that keeps it, `metrics` the metric names,
`runnerenv` the environment the operator hands to the runner. Components import these modules
and never spell a contract value themselves; `extras` names the distribution's extras for the
console scripts. Only the standard library is imported here: the runner, which imports core,
stays slim. The one exception, `wire` (the gateway's HTTP models, shared with the client), needs
pydantic: only the gateway and the client import it, and nothing here does.
"""
