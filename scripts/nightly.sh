#!/usr/bin/env bash
# The nightly: a longer hunt, the lock-necessity map, stress of the faithful
# kernel in both modes (free mode under the race detector too), fuzzing of
# every variant (semantic-only, from the seed corpus) and of the faithful
# kernel. Every part writes machine-readable output into one directory;
# internal/nightly judges it and writes verdict.json and summary.md there.
#
#   scripts/nightly.sh [OUTDIR]        (default nightly/YYYY-MM-DD; must not exist or be empty)
#
# Environment:
#   NIGHTLY_SCALE     multiplies every budget (default 1: the real night,
#                     about 6 hours on two cores; 0.1 for a short run)
#   NIGHTLY_PARTS     the parts to run (default "hunt locks stress race fuzz")
#   NIGHTLY_VARIANTS  comma-separated variants for hunt and fuzzing (default: all)
#   NIGHTLY_LOCKS_SITES  mmrace locks -sites (default: all)
#
# Budgets at scale 1: hunt 30 s per variant and rule mode, the faithful
# kernel 5 min, minimization 20 s; locks 5000 executions or 60 s per mutant;
# stress 10 min per mode, 5 min free mode under -race; fuzzing 10 min per
# variant and 30 min of the faithful kernel. Each is scaled, with a floor
# (1 s, hunt's search 2 s, locks 20 executions).
#
# Exit status (internal/nightly's): 0 pass; 1 a variant went undetected or
# the faithful kernel failed; 3 an internal error of mmrace (its own bug, a
# data race, a part that wrote no output); 2 bad input.
#
# `make nightly-smoke` runs hunt, locks and stress at scale 0.01 on a few
# variants and the TLB flush sites (about 30 s).
set -u
cd "$(dirname "$0")/.."
scale=${NIGHTLY_SCALE:-1}
parts=${NIGHTLY_PARTS:-hunt locks stress race fuzz}
variants=${NIGHTLY_VARIANTS:-}
sites=${NIGHTLY_LOCKS_SITES:-}
out=${1:-nightly/$(date +%F)}

if ! awk -v s="$scale" 'BEGIN { exit !(s + 0 > 0) }'; then
  echo "nightly: NIGHTLY_SCALE=$scale: want a positive number" >&2; exit 2
fi
for p in $parts; do
  case $p in hunt|locks|stress|race|fuzz) ;; *) echo "nightly: NIGHTLY_PARTS: unknown part $p (hunt locks stress race fuzz)" >&2; exit 2;; esac
done
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
  echo "nightly: $out exists and is not empty" >&2; exit 2
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
has() { case " $parts " in *" $1 "*) return 0;; esac; return 1; }

# dur SECONDS [FLOOR]: SECONDS×scale as a Go duration, at least FLOOR s (default 1).
dur() { awk -v b="$1" -v s="$scale" -v f="${2:-1}" 'BEGIN { v = b * s; if (v < f) v = f; printf "%dms", v * 1000 + 0.5 }'; }
# count N [FLOOR]: N×scale, at least FLOOR (default 1).
count() { awk -v b="$1" -v s="$scale" -v f="${2:-1}" 'BEGIN { v = int(b * s + 0.5); if (v < f) v = f; print v }'; }
# secs SECONDS [FLOOR]: SECONDS×scale in whole seconds (fuzz-detect's budget).
secs() { awk -v b="$1" -v s="$scale" -v f="${2:-1}" 'BEGIN { v = int(b * s + 0.5); if (v < f) v = f; print v }'; }

# budget NAME TEXT: record a step's budgets (budgets.txt, and on stderr).
budget() { printf '%s: %s\n' "$1" "$2" >> "$out/budgets.txt"; echo "nightly: $1: $2" >&2; }

# step NAME CMD...: run CMD, record its exit status and wall time.
step() {
  local name=$1; shift
  local t0=$SECONDS
  "$@"
  local st=$?
  printf '%s\t%d\t%d\n' "$name" "$st" $((SECONDS - t0)) >> "$out/status.tsv"
  echo "nightly: $name: exit $st in $((SECONDS - t0))s" >&2
}

: > "$out/status.tsv"
: > "$out/budgets.txt"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
mkdir -p "$out/bin"
if ! go build -o "$out/bin/mmrace" ./cmd/mmrace; then
  echo "nightly: cannot build mmrace" >&2; exit 3
fi
mm="$out/bin/mmrace"

if has hunt; then
  budget hunt "-per-variant $(dur 30 2) -faithful $(dur 300) -minimize $(dur 20) -variants ${variants:-all}"
  step hunt sh -c '"$0" hunt -json -per-variant "$1" -faithful "$2" -minimize "$3" ${4:+-variants "$4"} -out "$5/hunt-out" > "$5/hunt.json" 2> "$5/hunt.log"' \
    "$mm" "$(dur 30 2)" "$(dur 300)" "$(dur 20)" "$variants" "$out"
  # A timeline of each reproducer, under its variant.
  for f in "$out"/hunt-out/*.txt; do
    [ -f "$f" ] || continue
    # Its first run directive under the variant: the variant and the rule mode.
    d=$(grep -m1 '^run variants=' "$f")
    v=$(printf '%s\n' "$d" | sed 's/^run variants=\([^ ]*\).*/\1/')
    rules=true
    case $d in *rules=off*) rules=false;; esac
    "$mm" replay "$f" -variants="$v" -rules="$rules" -html "${f%.txt}.html" > /dev/null 2>&1 || true
  done
fi

if has locks; then
  budget locks "-budget $(count 5000 20),$(dur 60) -minimize $(dur 10) -sites ${sites:-all}"
  step locks sh -c '"$0" locks -json -budget "$1,$2" -minimize "$3" ${4:+-sites "$4"} -out "$5/locks" > "$5/locks.json" 2> "$5/locks.log"' \
    "$mm" "$(count 5000 20)" "$(dur 60)" "$(dur 10)" "$sites" "$out"
fi

if has stress; then
  budget stress "-duration $(dur 600) per mode (controlled, free)"
  for mode in controlled free; do
    step "stress-$mode" sh -c '"$0" stress -json -mode "$1" -duration "$2" -out "$3/stress-$1" > "$3/stress-$1.json" 2> "$3/stress-$1.log"' \
      "$mm" "$mode" "$(dur 600)" "$out"
  done
fi

if has race; then
  budget stress-race "-mode free -duration $(dur 300), built with -race"
  if go build -race -o "$out/bin/mmrace-race" ./cmd/mmrace; then
    step stress-race sh -c '"$0" stress -json -mode free -duration "$1" -out "$2/stress-race" > "$2/stress-race.json" 2> "$2/stress-race.log"' \
      "$out/bin/mmrace-race" "$(dur 300)" "$out"
  else
    echo "nightly: cannot build mmrace with -race" >&2
  fi
fi

if has fuzz; then
  fv=()
  [ -n "$variants" ] && IFS=, read -r -a fv <<< "$variants"
  budget fuzz "fuzz-detect $(secs 600)s per variant (${variants:-all}); faithful FuzzKernel $(dur 1800)"
  step fuzz-detect sh -c 'OUT="$0/fuzz-detect" scripts/fuzz-detect.sh "$@" > "$0/fuzz-detect.log" 2>&1' "$out" "$(secs 600)" ${fv[@]+"${fv[@]}"}
  step fuzz-faithful sh -c 'go test ./fuzz -run="^\$" -fuzz="^FuzzKernel\$" -fuzztime="$1" > "$0/fuzz-faithful.log" 2>&1' "$out" "$(dur 1800)"
fi

rm -rf "$out/bin"
go run ./internal/nightly -dir "$out" -scale "$scale" -commit "$commit" -parts "$parts"
