"""The longtask operator: turns LongTasks into Jobs, one per attempt, and keeps their status true.

Layers, from pure to effectful: `settings` (configuration), the pure decision modules
(`backoff`, `conditions`, `jobs`, `attempts`, `reconcile`; admission is core's), the in-memory state
(`store`, `workqueue`), the effect modules (`kube`, `publishing`, `metrics`), and the assembly
(`controller`, `handlers`, `main`; `launch` is the console script). `rbac` lists the
permissions the operator needs.
"""
