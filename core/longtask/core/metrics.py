"""Prometheus metric names exported by the operator and the gateway.

The alert rules, the Grafana dashboard and the tests use these names; a test checks that every
name used there is defined here.
"""

from __future__ import annotations

from typing import Final

# Operator (all carry a `namespace` label).
TASKS_SUBMITTED: Final = "longtask_tasks_submitted_total"
TASKS_FINISHED: Final = "longtask_tasks_finished_total"  # label outcome
TASK_DURATION: Final = "longtask_task_duration_seconds"  # histogram, created → final
TASK_QUEUE: Final = "longtask_task_queue_seconds"  # histogram, created → running
TASKS_RUNNING: Final = "longtask_tasks_running"
TASKS_PENDING: Final = "longtask_tasks_pending"
TASK_RETRIES: Final = "longtask_task_retries_total"
DEAD_LETTERS: Final = "longtask_dead_letters_total"
TASKS_STALLED: Final = "longtask_tasks_stalled"
RECONCILE_ERRORS: Final = "longtask_reconcile_errors_total"
OPERATOR_REDIS_ERRORS: Final = "longtask_operator_redis_errors_total"  # failed Redis calls
OPERATOR_API_WRITES: Final = "longtask_operator_api_writes_total"  # label verb (create/patch/…)
# 1 while this operator replica holds the Lease and may write, else 0 (a standby).
OPERATOR_LEADER: Final = "longtask_operator_leader"
# Writes (Kubernetes, Redis, history) the leadership guard refused: attempts by a non-leader.
OPERATOR_WRITES_REFUSED: Final = "longtask_operator_writes_refused_total"

# The operator's archive of finished tasks (longtask.history).
HISTORY_RECORDS_WRITTEN: Final = "longtask_history_records_written_total"  # label namespace
HISTORY_WRITE_FAILURES: Final = "longtask_history_write_failures_total"  # failed batch writes
# Seconds since the oldest finished task that is not in the history yet finished (0: none).
HISTORY_ARCHIVE_LAG: Final = "longtask_history_archive_lag_seconds"
HISTORY_ROWS_PRUNED: Final = "longtask_history_rows_pruned_total"  # records past retention
# Finished tasks whose TTL has passed but whose record is not committed yet (deletion held).
HISTORY_DELETIONS_WAITING: Final = "longtask_history_deletions_waiting"

# Operator, schedules (labels namespace and schedule).
SCHEDULE_RUNS_STARTED: Final = "longtask_schedule_runs_started_total"  # label trigger
SCHEDULE_SLOTS_MISSED: Final = "longtask_schedule_slots_missed_total"  # label reason
SCHEDULE_CONSECUTIVE_FAILURES: Final = "longtask_schedule_consecutive_failures"
# Seconds an active schedule is past its next slot without having handled it (0 when on time).
SCHEDULE_NEXT_RUN_LAG: Final = "longtask_schedule_next_run_lag_seconds"

# Operator, queues (labels namespace and queue).
QUEUE_TASKS_QUEUED: Final = "longtask_queue_tasks_queued"  # tasks waiting for admission
QUEUE_TASKS_RUNNING: Final = "longtask_queue_tasks_running"  # tasks with a live attempt
# Seconds the longest-waiting task of the queue has waited (0: none waits).
QUEUE_OLDEST_WAIT: Final = "longtask_queue_oldest_wait_seconds"
QUEUE_ADMISSIONS: Final = "longtask_queue_admissions_total"  # attempts admitted
QUEUE_WAIT: Final = "longtask_queue_wait_seconds"  # histogram, queued → admitted
# Seconds until the rate limit allows the next start, while a task waits on it (0: none).
QUEUE_RATE_LIMIT_DELAY: Final = "longtask_queue_rate_limit_delay_seconds"

# Gateway.
HTTP_REQUESTS: Final = "longtask_gateway_requests_total"  # labels route, method, code
HTTP_LATENCY: Final = "longtask_gateway_request_duration_seconds"  # labels route, method
SSE_CLIENTS: Final = "longtask_gateway_sse_clients"
SSE_EVENTS_SENT: Final = "longtask_gateway_sse_events_sent_total"
SSE_CLIENTS_DROPPED: Final = "longtask_gateway_sse_clients_dropped_total"  # slow clients cut off
# Redis streams and namespace watches the gateway follows now (one each, whatever the clients).
FOLLOWED_STREAMS: Final = "longtask_gateway_followed_streams"
FOLLOWED_WATCHES: Final = "longtask_gateway_followed_watches"

# The histograms among the names above: Prometheus exports each as <name>_bucket, _sum, _count.
HISTOGRAMS: Final = frozenset({TASK_DURATION, TASK_QUEUE, QUEUE_WAIT, HTTP_LATENCY})
