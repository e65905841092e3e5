"""One router per resource: tasks, events (SSE and WebSocket), logs, dead letters, health, and
the dashboard page."""
