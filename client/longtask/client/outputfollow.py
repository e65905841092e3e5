"""Following a task's output over its event stream, as sans-IO logic the clients drive.

`OutputFollow.take` turns each event of the task's stream into what changed in the output:
new chunks, and retractions (chunks of a failed attempt after its last checkpoint, or a whole
earlier output when an attempt starts a new one). When the stream cannot say (a `gap`: entries
were trimmed before they were read, or a chunk arrives past a hole), `take` asks for the whole
output (`needs_output`); the client reads it from the gateway and hands it to `fill`, which
says what changed against what was known. So a follower never misses a chunk and never sees one
twice, whatever the stream kept (`core.outputs`).
"""

from __future__ import annotations

from longtask.client import streams
from longtask.core import events, outputs, wire

OUTPUT: str = events.EventType.OUTPUT.value
RETRACT: str = events.EventType.RETRACT.value

Change = outputs.Chunk | outputs.Retraction


class OutputFollow:
    """What one follower knows of a task's output."""

    def __init__(self) -> None:
        self.assembly = outputs.Assembly()
        self.needs_output = False
        """The stream missed something: read the whole output (`fill`) before going on."""

    def take(self, event: streams.TaskEvent) -> list[Change]:
        if event.type == streams.GAP:
            self.needs_output = True
            return []
        if event.type not in (OUTPUT, RETRACT):
            return []
        data = event.data.model_dump(mode="json", exclude_none=True)
        change = self.assembly.apply(data)
        if change is None and event.type == OUTPUT:
            seq = data.get("seq")
            if isinstance(seq, int) and seq > self.assembly.next_seq:
                self.needs_output = True  # a hole before it
        return [] if change is None else [change]

    def fill(self, output: wire.TaskOutput) -> list[Change]:
        """What the whole output read from the gateway changes."""
        self.needs_output = False
        complete = [outputs.Chunk(c.seq, c.attempt, c.chunk, c.json_) for c in output.chunks]
        return self.assembly.replace(complete)
