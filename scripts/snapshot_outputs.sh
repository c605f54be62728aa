#!/usr/bin/env bash
# Runs every shipped scenario (the LLM ones excepted: they need the model) with the given
# `scenarios` binary and keeps each run's trajectories.jsonl and summary.json (less its two
# wall-clock fields, as summary.recorded) under OUT.
# Two snapshots taken before and after a refactor must be byte-identical:
#   scripts/snapshot_outputs.sh target/debug/scenarios /tmp/before
#   ... change the code, rebuild ...
#   scripts/snapshot_outputs.sh target/debug/scenarios /tmp/after
#   diff -r /tmp/before /tmp/after && echo identical
set -euo pipefail
binary=${1:?usage: snapshot_outputs.sh SCENARIOS_BINARY OUT [EPISODES]}
out=${2:?usage: snapshot_outputs.sh SCENARIOS_BINARY OUT [EPISODES]}
episodes=${3:-}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
for file in "$root"/scenarios/*.ron; do
    name=$(basename "$file" .ron)
    case "$name" in *_llm) continue ;; esac
    run="$out/$name"
    rm -rf "$run"
    extra=()
    if [ -n "$episodes" ]; then extra=(--episodes "$episodes"); fi
    "$binary" "$file" --out "$run" "${extra[@]}" >/dev/null
    # Keep only the recorded outputs, without the wall-clock figures of summary.json.
    find "$run" -type f ! -name trajectories.jsonl ! -name summary.json -delete
    grep -v '"wall_seconds"\|"env_steps_per_second"' "$run/summary.json" > "$run/summary.recorded"
    rm "$run/summary.json"
done
echo "snapshot of $(ls "$out" | wc -l) scenarios in $out"
