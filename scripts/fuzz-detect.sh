#!/usr/bin/env bash
# Fuzz each variant from the seed corpus until the first failure (or the
# budget), semantic-only, and print: variant, seconds and executions to
# detection. Usage: scripts/fuzz-detect.sh [SECONDS] [VARIANT...]
# Crashers are moved to $OUT (default /tmp/mmrace-crashers) so that every
# variant starts from the seed corpus only.
set -u
cd "$(dirname "$0")/.."
budget=${1:-120}; shift || true
out=${OUT:-/tmp/mmrace-crashers}; mkdir -p "$out"
variants=("$@")
if [ ${#variants[@]} -eq 0 ]; then
  mapfile -t variants < <(go run ./cmd/mmrace variants -names 2>/dev/null || grep -o 'Name: *"[^"]*"' kernelsim/variants.go | sed 's/.*"\(.*\)"/\1/' | grep -v '^test-')
fi
# The committed crashers are seeds too: set them aside while measuring.
stash=$(mktemp -d)
if [ -d fuzz/testdata/fuzz/FuzzKernel ]; then mv fuzz/testdata/fuzz/FuzzKernel "$stash/"; fi
trap 'rm -rf fuzz/testdata/fuzz/FuzzKernel; [ -d "$stash/FuzzKernel" ] && mv "$stash/FuzzKernel" fuzz/testdata/fuzz/; rmdir "$stash" 2>/dev/null' EXIT
printf '%-48s %8s %10s  %s\n' variant seconds execs result
for v in "${variants[@]}"; do
  log=$(mktemp)
  start=$(date +%s.%N)
  MMRACE_VARIANTS=$v MMRACE_SEMANTIC_ONLY=1 go test ./fuzz -run='^$' -fuzz='^FuzzKernel$' -fuzztime="${budget}s" >"$log" 2>&1
  end=$(date +%s.%N)
  execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  if grep -q -- '--- FAIL' "$log"; then
    inv=$(grep -m1 -A1 '===== VIOLATION' "$log" | tail -1 | sed 's/^ *//')
    secs=$(grep -o 'elapsed: [0-9hms.]*' "$log" | tail -1 | cut -d' ' -f2)
    printf '%-48s %8s %10s  %s\n' "$v" "${secs:-<3s}" "${execs:-<first report}" "$inv"
    for f in fuzz/testdata/fuzz/FuzzKernel/*; do [ -f "$f" ] && mv "$f" "$out/$v-$(basename "$f")"; done
  else
    printf '%-48s %8s %10s  %s\n' "$v" "-" "${execs:-?}" "not found in ${budget}s"
  fi
  rm -f "$log"
done
