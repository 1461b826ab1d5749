#!/usr/bin/env bash
# Re-pin a corpus scenario's schedule after a model change moved its
# scheduling points, then regenerate the expected outputs with
# `go test ./corpus -rewrite` and review the diff.
#
# A scenario whose header has a "# plan: t1:4 t2:23 ..." line is pinned from
# that hand-written plan (mmrace run -plan): the schedules too deep for PCT.
# Otherwise the scenario's program is searched (PCT, semantic-only) for an
# interleaving in which VARIANT fails with an invariant or detail containing
# WANT.
# Usage: scripts/repin.sh corpus/FILE.txt VARIANT WANT [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
file=$1 variant=$2 want=$3 runs=${4:-200000}
prog=$(mktemp)
trap 'rm -f "$prog"' EXIT
awk '/^program/{p=1; next} p && /^----/{exit} p && !/^schedule /{print}' "$file" > "$prog"
plan=$(sed -n 's/^# plan: //p' "$file" | head -1)
if [ -n "$plan" ]; then
  out=$(go run ./cmd/mmrace run "$prog" -variants="$variant" -rules=false -plan "$plan" 2>/dev/null) || true
else
  out=$(go run ./cmd/mmrace run "$prog" -variants="$variant" -rules=false -runs "$runs" -want "$want" 2>/dev/null) || true
fi
sched=$(printf '%s\n' "$out" | sed -n '/^SCHEDULE/{n;p}')
if ! printf '%s\n' "$out" | grep -q "^violation\|^deadlock" || ! printf '%s\n' "$out" | grep -q -- "$want"; then
  echo "repin: $variant does not fail with \"$want\" in $file (${plan:+plan $plan}${plan:-$runs runs})" >&2; exit 1
fi
sed -i "s/^schedule v1\..*/schedule $sched/" "$file"
echo "$file: schedule $sched ($(printf '%s\n' "$out" | sed -n 's/^VERDICT after \(.*\)/\1/p'))"
