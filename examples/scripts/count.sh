#!/bin/sh
# A command-mode task: any program reports progress by printing "::progress <0-100> <message>"
# lines and its result with one "::result <json>" line; every other line is ordinary log output.
# Usage: count.sh [steps] [seconds-per-step]
set -eu
steps="${1:-10}"
delay="${2:-0.1}"
echo "counting to ${steps}"
i=0
while [ "$i" -lt "$steps" ]; do
    i=$((i + 1))
    sleep "$delay"
    echo "::progress $((i * 100 / steps)) counted ${i} of ${steps}"
done
echo "done" >&2
echo "::result {\"counted\": ${steps}}"
