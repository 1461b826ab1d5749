#!/usr/bin/env bash
# This build against commit $BASE (default 0b25a5a), side by side in one run
# on this machine (issue 12, acceptance 1, 2 and 4). It builds both itself:
# the old one from `git archive $BASE`, the new one from the working tree.
#
#  1. The program files of corpus/ as they are at $BASE, each run by both
#     builds with `mmrace run FILE -rules=false -runs $RUNS` (the faithful
#     kernel, PCT), builds alternating, $ROUNDS rounds. Executions per second
#     are the runs the command reports ("VERDICT after N run(s)") over the
#     command's wall time, and over its CPU time (user+system, from bash's
#     time: steadier when other people load the machine). Printed
#     per file (median over rounds) with new/old, and the median over files
#     of new/old.
#  2. `mmrace stress -strategy S -workers 1` of both builds, each with its
#     own generator (the fuzz decoder of its commit), alternating: the ratio
#     of executions per second, and per CPU-second. The old build takes the same flags (-strategy,
#     -workers, -duration, -json, -out) and prints executions_per_second in
#     its JSON too.
#  3. `-workers 2` against `-workers 1`, each build (acceptance 4).
#  4. BenchmarkExec of both builds: harness/bench_test.go copied into the old
#     tree without the lines marked "// not at 0b25a5a" (its sched.Pool and
#     harness.Options.Reuse, which that commit does not have). Medians of
#     ns/exec, allocs/exec, B/exec, points/exec and events/exec.
#
# GOMAXPROCS=1 (set GMP1=0 to skip) repeats 1 with both builds under
# GOMAXPROCS=1, the setting of a sequential command on an otherwise idle
# machine: a task hand-off then wakes no idle P.
#
# Usage: scripts/perf-compare.sh   (ROUNDS=3 RUNS=2000 STRESS_SECS=10 BASE=0b25a5a GMP1=1 BENCH=1)
set -u
cd "$(dirname "$0")/.."
base=${BASE:-0b25a5a}
rounds=${ROUNDS:-3}
runs=${RUNS:-2000}
secs=${STRESS_SECS:-10}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/old" "$tmp/src" "$tmp/out"

echo "building $base and the working tree ($(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . || echo +changes))"
git archive "$base" | tar -x -C "$tmp/old"
(cd "$tmp/old" && go build -o "$tmp/mmrace-old" ./cmd/mmrace) || exit 3
go build -o "$tmp/mmrace-new" ./cmd/mmrace || exit 3
git archive "$base" corpus | tar -x -C "$tmp/src"
files=("$tmp"/src/corpus/*.txt)
echo "${#files[@]} program files of corpus/ at $base; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"

# median reads numbers, one a line, and prints their median.
median() { sort -g | awk '{v[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

# runrate BUILD FILE prints the executions per second of one `run` (wall
# time) and its executions per CPU-second (user+system time of the process),
# which other people's load on a shared machine disturbs less.
runrate() {
  local n wall u sy TIMEFORMAT='%3R %3U %3S'
  { time "$tmp/mmrace-$1" run "$2" -rules=false -runs "$runs" >"$tmp/out/run" 2>&1; } 2>"$tmp/out/time"
  n=$(grep -o 'VERDICT after [0-9]* run' "$tmp/out/run" | awk '{print $3}')
  if [ -z "$n" ]; then echo "mmrace-$1 run $2 failed:" >&2; tail -3 "$tmp/out/run" >&2; echo nan nan; return; fi
  read -r wall u sy <"$tmp/out/time"
  awk -v n="$n" -v w="$wall" -v u="$u" -v s="$sy" 'BEGIN {printf "%.1f %.1f\n", n / w, n / (u + s)}'
}

# corpus LABEL measures section 1 and prints its table.
corpus() {
  local label=$1 r f b order rates="$tmp/out/rates-$1"
  : >"$rates"
  for ((r = 1; r <= rounds; r++)); do
    for f in "${files[@]}"; do
      order="old new"
      if [ $((r % 2)) -eq 0 ]; then order="new old"; fi
      for b in $order; do echo "$(basename "$f") $b $(runrate "$b" "$f")" >>"$rates"; done
    done
  done
  echo
  echo "== mmrace run FILE -rules=false -runs $runs ($label; medians of $rounds rounds; load now $(cut -d' ' -f1 /proc/loadavg))"
  printf '%-76s %9s %9s %7s   %9s %9s %7s\n' file "old/s" "new/s" new/old "old/cpu-s" "new/cpu-s" new/old
  local ratios="$tmp/out/ratios-$label" o n oc nc
  : >"$ratios"
  for f in "${files[@]}"; do
    f=$(basename "$f")
    o=$(awk -v f="$f" '$1 == f && $2 == "old" {print $3}' "$rates" | median)
    n=$(awk -v f="$f" '$1 == f && $2 == "new" {print $3}' "$rates" | median)
    oc=$(awk -v f="$f" '$1 == f && $2 == "old" {print $4}' "$rates" | median)
    nc=$(awk -v f="$f" '$1 == f && $2 == "new" {print $4}' "$rates" | median)
    awk -v f="$f" -v o="$o" -v n="$n" -v oc="$oc" -v nc="$nc" 'BEGIN {printf "%-76s %9.0f %9.0f %7.2f   %9.0f %9.0f %7.2f\n", f, o, n, n / o, oc, nc, nc / oc}'
    awk -v o="$o" -v n="$n" -v oc="$oc" -v nc="$nc" 'BEGIN {print n / o, nc / oc}' >>"$ratios"
  done
  echo "median over ${#files[@]} files of new/old: $(cut -d' ' -f1 "$ratios" | median) (executions/s), $(cut -d' ' -f2 "$ratios" | median) (executions per CPU-second)"
}

corpus default
if [ "${GMP1:-1}" = 1 ]; then
  GOMAXPROCS=1 corpus GOMAXPROCS=1
fi

# stressrate BUILD STRATEGY WORKERS prints executions per second and per
# CPU-second.
stressrate() {
  local TIMEFORMAT='%3R %3U %3S' wall u sy n
  { time "$tmp/mmrace-$1" stress -strategy "$2" -workers "$3" -duration "${secs}s" -json -out "$tmp/out/stress-out" 2>/dev/null >"$tmp/out/stress.json"; } 2>"$tmp/out/time"
  read -r wall u sy <"$tmp/out/time"
  n=$(grep -o '"executions": *[0-9]*' "$tmp/out/stress.json" | awk '{print $2}')
  grep -o '"executions_per_second": *[0-9.e+]*' "$tmp/out/stress.json" | awk -v n="$n" -v u="$u" -v s="$sy" '{printf "%s %.1f\n", $2, n / (u + s)}'
}

echo
echo "== mmrace stress -workers 1 -duration ${secs}s, each build with its own generator (medians of $rounds rounds; load now $(cut -d' ' -f1 /proc/loadavg))"
for strat in bytes pct; do
  : >"$tmp/out/s-old" && : >"$tmp/out/s-new"
  for ((r = 1; r <= rounds; r++)); do
    order="old new"
    if [ $((r % 2)) -eq 0 ]; then order="new old"; fi
    for b in $order; do stressrate "$b" "$strat" 1 >>"$tmp/out/s-$b"; done
  done
  o=$(cut -d' ' -f1 "$tmp/out/s-old" | median)
  n=$(cut -d' ' -f1 "$tmp/out/s-new" | median)
  oc=$(cut -d' ' -f2 "$tmp/out/s-old" | median)
  nc=$(cut -d' ' -f2 "$tmp/out/s-new" | median)
  awk -v s="$strat" -v o="$o" -v n="$n" -v oc="$oc" -v nc="$nc" 'BEGIN {printf "-strategy %-5s  executions/s: old %7.0f  new %7.0f  new/old %.2f   per CPU-second: old %7.0f  new %7.0f  new/old %.2f\n", s, o, n, n / o, oc, nc, nc / oc}'
done

echo
echo "== mmrace stress -strategy bytes: -workers 2 against -workers 1 (executions/s, medians of $rounds rounds; load now $(cut -d' ' -f1 /proc/loadavg))"
for b in old new; do
  : >"$tmp/out/w1" && : >"$tmp/out/w2"
  for ((r = 1; r <= rounds; r++)); do
    stressrate "$b" bytes 1 >>"$tmp/out/w1"
    stressrate "$b" bytes 2 >>"$tmp/out/w2"
  done
  o=$(cut -d' ' -f1 "$tmp/out/w1" | median)
  n=$(cut -d' ' -f1 "$tmp/out/w2" | median)
  awk -v b="$b" -v o="$o" -v n="$n" 'BEGIN {printf "%s build: 1 worker %7.0f  2 workers %7.0f  ratio %.2f\n", b, o, n, n / o}'
done

if [ "${BENCH:-1}" = 1 ]; then
  echo
  echo "== BenchmarkExec (medians of $rounds; the standard program set of each commit's own decoder)"
  grep -v '// not at 0b25a5a' harness/bench_test.go >"$tmp/old/harness/bench_test.go"
  for b in old new; do
    dir=.
    if [ "$b" = old ]; then dir=$tmp/old; fi
    (cd "$dir" && go test ./harness -run='^$' -bench='^BenchmarkExec$' -benchtime=2s -count="$rounds") >"$tmp/out/bench-$b" 2>&1 ||
      { echo "BenchmarkExec failed for $b:"; tail -5 "$tmp/out/bench-$b"; }
  done
  printf '%-12s %-6s %10s %12s %10s %12s %12s\n' benchmark build ns/exec allocs/exec B/exec points/exec events/exec
  for sub in seeds switching; do
    for b in old new; do
      vals=""
      for unit in ns/exec allocs/exec B/exec points/exec events/exec; do
        v=$(grep "^BenchmarkExec/$sub-" "$tmp/out/bench-$b" | awk -v u="$unit" '{for (i = 2; i < NF; i++) if ($(i+1) == u) print $i}' | median)
        vals="$vals $v"
      done
      # shellcheck disable=SC2086
      printf '%-12s %-6s %10.0f %12.1f %10.0f %12.1f %12.1f\n' "$sub" "$b" $vals
    done
  done
fi
