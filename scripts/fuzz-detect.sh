#!/usr/bin/env bash
# Fuzz each variant from the seed corpus only until the first failure (or the
# budget), semantic-only, and tabulate seconds and executions to detection.
#
#   scripts/fuzz-detect.sh [SECONDS] [VARIANT...]     (default: 120 s, every
#                                                     variant of mmrace variants -names)
#
# "From the seed corpus only" means: no input found by an earlier run may
# reach the next one. Go's fuzzer reads two corpora besides the f.Add seeds:
# the package's testdata/fuzz/FuzzKernel (committed crashers) and its cache
# ($(go env GOCACHE)/fuzz/mmrace/fuzz/FuzzKernel, every interesting input of
# every earlier run, of any variant). So each variant runs
#   - in a scratch copy of this tree without fuzz/testdata/fuzz/FuzzKernel
#     (the working tree is never touched, so tests may run beside it), and
#   - with a fuzz cache directory of its own, empty at the start
#     (-test.fuzzcachedir, which overrides the one go test passes).
#
# Output: the table on stdout, one line per variant as it finishes, and the
# same rows as tab-separated values in $OUT/results.tsv (default OUT is
# /tmp/mmrace-detect), with the header
#   variant status seconds execs invariant crasher
# status is found, not-found (budget spent), internal-error (the harness's
# own bug: never a detection) or error (the run did not fuzz: see its log in
# $OUT/logs). seconds is the fuzz target's own duration from go test's
# "--- FAIL: FuzzKernel (Ns)" line (baseline coverage included, the build
# not); execs is the last progress report before the failure, so a lower
# bound reported every 3 s ("-" when the failure came before the first).
# Crashers are copied to $OUT as VARIANT-HASH.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
budget=${1:-120}; shift || true
out=${OUT:-/tmp/mmrace-detect}
mkdir -p "$out/logs"
variants=("$@")
if [ ${#variants[@]} -eq 0 ]; then
  if ! mapfile -t variants < <(cd "$root" && go run ./cmd/mmrace variants -names); then
    echo "fuzz-detect: cannot list the variants (go run ./cmd/mmrace variants -names failed)" >&2
    exit 2
  fi
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/tree"
# The files of the working tree (tracked and untracked, not ignored) except
# the committed crashers.
(
  cd "$root"
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z -co --exclude-standard | while IFS= read -r -d '' f; do
      [ -f "$f" ] && printf '%s\0' "$f"
    done | grep -zv '^fuzz/testdata/fuzz/FuzzKernel/' | tar -cf - --null -T -
  else
    tar -cf - --exclude=.git --exclude=fuzz/testdata/fuzz/FuzzKernel .
  fi
) | tar -xf - -C "$scratch/tree"

tsv="$out/results.tsv"
printf 'variant\tstatus\tseconds\texecs\tinvariant\tcrasher\n' >"$tsv"
printf '%-48s %-14s %8s %10s  %s\n' variant status seconds execs invariant
for v in "${variants[@]}"; do
  log="$out/logs/$v.log"
  cache="$scratch/fuzzcache-$v"
  mkdir -p "$cache"
  (
    cd "$scratch/tree" &&
      MMRACE_VARIANTS=$v MMRACE_SEMANTIC_ONLY=1 go test ./fuzz -run='^$' -fuzz='^FuzzKernel$' \
        -fuzztime="${budget}s" -args -test.fuzzcachedir="$cache"
  ) >"$log" 2>&1
  execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  secs=$(grep -o -- '--- FAIL: FuzzKernel ([0-9.]*s)' "$log" | head -1 | grep -o '[0-9.]*s' | tr -d s)
  inv="-" crasher="-"
  if [ -n "$secs" ]; then
    if grep -q 'MMRACE INTERNAL ERROR' "$log"; then
      status=internal-error inv=internal-error
    else
      status=found
      # The VIOLATION section's first line: "violation in run: NAME".
      inv=$(grep -m1 -A1 '===== VIOLATION' "$log" | tail -1 | sed 's/.*: *//')
    fi
    f=$(grep -o 'testdata/fuzz/FuzzKernel/[0-9a-f]*' "$log" | head -1)
    if [ -n "$f" ] && [ -f "$scratch/tree/fuzz/$f" ]; then
      crasher="$out/$v-$(basename "$f")"
      mv "$scratch/tree/fuzz/$f" "$crasher"
    fi
  elif grep -q '^ok ' "$log"; then
    status=not-found secs=$budget
  else
    status=error secs="-"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$v" "$status" "$secs" "${execs:--}" "$inv" "$crasher" >>"$tsv"
  printf '%-48s %-14s %8s %10s  %s\n' "$v" "$status" "$secs" "${execs:--}" "$inv"
  rm -rf "$cache"
done
echo "rows: $tsv; logs: $out/logs"
