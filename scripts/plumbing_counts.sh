#!/usr/bin/env bash
# Counts the step plumbing that sim-core owns now, so a regression shows up as a number:
#   pending guards   hand-written `action.pending()` checks in env code
#   rules copies     per-episode components that copy config fields (`*Rules`) or a whole
#                    config (`config: config.clone()` in an env's state)
#   reorder buffers  `BTreeMap`s keyed by episode index that restore episode order
#   agents env ids   literal env ids (`"name-vN"`) in agents/src/lib.rs
#   turn checks      hand-rolled last-turn checks (`taken + 1 >=`) in env code
#   spec ids         `id: Self::ID` written by an env
#   module cycles    import cycles between the modules of a crate (scripts/module_cycles.py)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
count() { (grep -rEn "$1" "${@:2}" || true) | wc -l; }
printf 'pending guards   %s\n' "$(count 'pending\(\)' envs/src)"
printf 'rules copies     %s\n' "$(( $(count 'struct [A-Za-z]*Rules\b' envs/src) + $(count 'config: config\.clone\(\)' envs/src) ))"
printf 'reorder buffers  %s\n' "$(count 'BTreeMap<u64, *(EpisodeRecord|T)>' sim-core/src scenarios/src learn/src python/src)"
printf 'agents env ids   %s\n' "$(count '"[a-z_-]+-v[0-9]+"' agents/src/lib.rs)"
printf 'turn checks      %s\n' "$(count 'taken \+ 1 >=' envs/src)"
printf 'spec ids         %s\n' "$(count 'id: (Self::ID|id)\.' envs/src)"
printf 'module cycles    %s\n' "$(python3 "$root/scripts/module_cycles.py" | tail -1 | awk '{print $NF}')"
echo "config copies found (a per-config cache built once is fine; a per-episode copy is not):"
grep -rEn 'struct [A-Za-z]*Rules\b|config: config\.clone\(\)' envs/src | sed 's/^/  /' || true
