"""Runnable example tasks for the longtask runner.

Each module is one task, run as `longtask_examples.<module>:<function>`:

- `counting:count` counts with progress (the smallest useful task);
- `documents:process` generates N documents, splits each into chunks and processes them
  one by one, with progress per document and a checkpoint after each;
- `flaky:resume_after_failure` fails on its first attempt and resumes from its checkpoint on the
  second;
- `generating:generate` writes text token by token as its output (a small deterministic
  generator standing in for a language model), resumable from checkpoints.

`examples/scripts/count.sh` is the command-mode counterpart of `counting`.
"""
