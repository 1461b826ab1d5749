#!/usr/bin/env bash
# Re-pin a corpus scenario's schedule after a model change moved its
# scheduling points: search the scenario's program (PCT, semantic-only) for
# an interleaving in which VARIANT fails with an invariant or detail
# containing WANT, and rewrite the file's `schedule` line; then regenerate
# the expected outputs with `go test ./corpus -rewrite` and review the diff.
# Usage: scripts/repin.sh corpus/FILE.txt VARIANT WANT [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
file=$1 variant=$2 want=$3 runs=${4:-200000}
prog=$(mktemp)
awk '/^program/{p=1; next} p && /^----/{exit} p && !/^schedule /{print}' "$file" > "$prog"
out=$(go run ./cmd/mmrace run "$prog" -variants="$variant" -rules=false -runs "$runs" -want "$want" 2>/dev/null) || true
rm -f "$prog"
sched=$(printf '%s\n' "$out" | sed -n '/^SCHEDULE/{n;p}')
if ! printf '%s\n' "$out" | grep -q "^violation\|^deadlock" ; then
  echo "repin: $variant does not fail in $runs runs of $file" >&2; exit 1
fi
sed -i "s/^schedule v1\..*/schedule $sched/" "$file"
echo "$file: schedule $sched ($(printf '%s\n' "$out" | sed -n 's/^VERDICT after \(.*\)/\1/p'))"
