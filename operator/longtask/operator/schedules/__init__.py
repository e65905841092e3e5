"""Schedules: the LongTaskSchedule controller, beside the LongTask one and shaped like it.

- `runs`: what the controller knows of each schedule's runs (a slim view per LongTask) and the
  store of schedules and runs, fed by watch events.
- `planning`: the pure decision, (schedule, observation) → Plan | Need, as `reconcile.decide`.
- `calls`: its calls to the Kubernetes API, over the operator's client (writes counted with the
  task controller's).
- `controller`: the thin shell: work queue, observe what a decision needs, apply the plan.
- `metrics`: runs started, slots missed, consecutive failures, next-run lag.
"""
