#!/usr/bin/env bash
# Nightly: a longer hunt, the lock-necessity map (mmrace locks, a short
# budget per mutant), stress of the faithful kernel in both modes (free mode
# under the race detector too), fuzzing of every variant (semantic-only) and
# of the faithful kernel. Writes a dated report directory with a markdown
# summary and HTML timelines of the failures found; exits non-zero on a
# faithful violation, an undetected variant or an internal error.
set -u
cd "$(dirname "$0")/.."
out=${1:-nightly/$(date +%F)}
mkdir -p "$out"
status=0
summary="$out/summary.md"
echo "# mmrace nightly $(date -u +%FT%TZ) ($(git rev-parse --short HEAD 2>/dev/null))" > "$summary"

echo "## hunt" >> "$summary"
go run ./cmd/mmrace hunt -per-variant 30s -faithful 5m -minimize 20s -out "$out/reproducers" > "$out/hunt.txt" 2>&1 || status=1
echo '```' >> "$summary"; cat "$out/hunt.txt" >> "$summary"; echo '```' >> "$summary"
for f in "$out"/reproducers/*.txt; do
  [ -f "$f" ] || continue
  v=$(sed -n 's/^run variants=\([^ ]*\).*/\1/p' "$f" | head -1)
  go run ./cmd/mmrace replay "$f" -variants="$v" -rules=false -html "${f%.txt}.html" > /dev/null 2>&1 || true
done

echo "## lock-necessity map (mmrace locks)" >> "$summary"
go run ./cmd/mmrace locks -budget 5000,60s -out "$out/locks" > "$out/locks.txt" 2> "$out/locks-progress.txt" || status=1
echo '```' >> "$summary"; sed -n '/^summary/,$p' "$out/locks.txt" >> "$summary"; echo '```' >> "$summary"
echo "- table: $out/locks.txt; counterexamples: $out/locks/index.html" >> "$summary"

echo "## stress" >> "$summary"
for mode in controlled free; do
  go run ./cmd/mmrace stress -mode $mode -duration 10m -out "$out/stress-$mode" > "$out/stress-$mode.txt" 2>/dev/null || status=1
  echo "- $mode: $(head -2 "$out/stress-$mode.txt" | tr '\n' ' ')" >> "$summary"
done
go build -race -o "$out/mmrace-race" ./cmd/mmrace
"$out/mmrace-race" stress -mode free -duration 5m -out "$out/stress-race" > "$out/stress-race.txt" 2>&1 || status=1
echo "- free mode under -race: $(grep -c 'WARNING: DATA RACE' "$out/stress-race.txt") race reports; $(head -1 "$out/stress-race.txt")" >> "$summary"
rm -f "$out/mmrace-race"

echo "## fuzzing (semantic-only, 10 min per variant)" >> "$summary"
echo '```' >> "$summary"
OUT="$out/crashers" scripts/fuzz-detect.sh 600 >> "$summary" 2>&1
echo '```' >> "$summary"
grep -q "not found" "$summary" && status=1
go test ./fuzz -run='^$' -fuzz='^FuzzKernel$' -fuzztime=30m > "$out/fuzz-faithful.txt" 2>&1 || status=1
echo "- faithful FuzzKernel 30 min: $(tail -1 "$out/fuzz-faithful.txt")" >> "$summary"
echo "status $status" >> "$summary"
exit $status
