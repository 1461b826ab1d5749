#!/usr/bin/env bash
# Proves the ClusterFuzzLite/OSS-Fuzz build path of the fuzz targets here,
# without Docker: installs clang (Debian) and go-118-fuzz-build (Go module
# proxy) if missing, runs .clusterfuzzlite/build.sh on a copy of the tree
# with a stand-in for compile_native_go_fuzzer that runs the same two
# commands as OSS-Fuzz's, then
#   1. fuzzes the faithful kernel with the fuzz_kernel libFuzzer binary for
#      $LIBFUZZER_SECONDS (60): it must find nothing;
#   2. fuzzes move_ptes-skip-rmap-locks semantic-only (chosen, as for
#      go test -fuzz, by MMRACE_VARIANTS and MMRACE_SEMANTIC_ONLY at run time)
#      for up to $LIBFUZZER_CRASH_SECONDS (120): it must write a crash file;
#   3. replays that crash file with `mmrace replay`: it must exit 1;
#   4. runs go test -fuzz=FuzzKernel on the faithful kernel for the same
#      time, and prints executions per second of both engines.
# Exits non-zero on any failure. Idempotent; everything goes to a temp dir
# ($LIBFUZZER_WORK to keep it). Usage: scripts/libfuzzer-check.sh (make libfuzzer)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
secs=${LIBFUZZER_SECONDS:-60}
crash_secs=${LIBFUZZER_CRASH_SECONDS:-120}
variant=move_ptes-skip-rmap-locks
# The go-118-fuzz-build that .clusterfuzzlite/build.sh pins.
pin=$(sed -n 's/^GO118_FUZZ_BUILD=//p' .clusterfuzzlite/build.sh)
fail() { echo "libfuzzer-check: FAIL: $*" >&2; exit 1; }

echo "== tools"
probe=$(mktemp -d)
printf 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }\n' >"$probe/t.c"
links() { clang -fsanitize=fuzzer "$probe/t.c" -o "$probe/t" 2>/dev/null; }
if ! links; then
  apt-get update -qq && apt-get install -y -qq clang >/dev/null
  # libFuzzer is in clang's runtime package, which clang only recommends.
  major=$(clang --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -1)
  links || apt-get install -y -qq "libclang-rt-$major-dev" >/dev/null
  links || fail "clang cannot link libFuzzer (-fsanitize=fuzzer)"
fi
rm -rf "$probe"
for tool in zip unzip; do
  command -v $tool >/dev/null || { apt-get update -qq && apt-get install -y -qq $tool >/dev/null; }
done
gobin=$(go env GOPATH)/bin
if ! go version -m "$gobin/go-118-fuzz-build" 2>/dev/null | grep -q "mod.*go-118-fuzz-build.*$pin"; then
  go install "github.com/AdamKorcz/go-118-fuzz-build@$pin"
fi
export PATH="$gobin:$PATH"
clang --version | head -1
echo "go-118-fuzz-build $pin"

work=${LIBFUZZER_WORK:-$(mktemp -d /tmp/mmrace-libfuzzer.XXXXXX)}
mkdir -p "$work"
echo "== build (.clusterfuzzlite/build.sh in $work/src)"
# go-118-fuzz-build rewrites the package it builds in place (and leaves it
# rewritten if the build fails), as it does in the Docker image: use a copy.
rm -rf "$work/src" "$work/out" "$work/bin"
mkdir -p "$work/src" "$work/out" "$work/bin" "$work/work"
tar -C "$root" --exclude=./.git -c . | tar -C "$work/src" -x
# The stand-in: the non-coverage branch of OSS-Fuzz's compile_native_go_fuzzer
# (infra/base-images/base-builder/compile_native_go_fuzzer), which finds the
# file defining the target, then builds and links it. It fails loudly where
# the original only prints that it found no such function.
cat >"$work/bin/compile_native_go_fuzzer" <<'STANDIN'
#!/bin/bash -eu
path=$1; function=$2; fuzzer=$3
tags="-tags gofuzz"
abs_file_dir=$(go list $tags -f {{.Dir}} $path)
fuzzer_filename=$(grep -r -l --include='*.go' -s "$function" "${abs_file_dir}")
if [ $(grep -r "func $function" $fuzzer_filename | grep "testing.F" | wc -l) -eq 1 ]; then
  go-118-fuzz-build $tags -o $fuzzer.a -func $function $abs_file_dir
  $CXX $CXXFLAGS $LIB_FUZZING_ENGINE $fuzzer.a -o $OUT/$fuzzer
else
  echo "Could not find the function: func ${function}(f *testing.F)" >&2
  exit 1
fi
STANDIN
chmod +x "$work/bin/compile_native_go_fuzzer"
# The address-sanitizer build's flags, as OSS-Fuzz sets them for clang.
(
  cd "$work/src"
  export PATH="$work/bin:$PATH" SRC="$work/src" OUT="$work/out" WORK="$work/work" SANITIZER=address
  export CC=clang CXX=clang++ LIB_FUZZING_ENGINE=-fsanitize=fuzzer
  export CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address -fsanitize-address-use-after-scope -fsanitize=fuzzer-no-link"
  export CXXFLAGS="$CFLAGS"
  start=$(date +%s)
  bash -eu .clusterfuzzlite/build.sh
  echo "built in $(( $(date +%s) - start ))s"
)
for t in fuzz_kernel fuzz_decode fuzz_parse_program fuzz_parse_schedule fuzz_parse_lockprog; do
  [ -x "$work/out/$t" ] || fail "build.sh did not produce \$OUT/$t"
done
[ -f "$work/out/fuzz_kernel_seed_corpus.zip" ] || fail "no fuzz_kernel_seed_corpus.zip"
ls -la "$work/out"

# libfuzz NAME ENV... : fuzz_kernel from the seed corpus for $secs (or
# $LIMIT) into $work/NAME; prints the run's log path.
libfuzz() {
  local name=$1; shift
  local dir="$work/$name"
  rm -rf "$dir"; mkdir -p "$dir/corpus" "$dir/artifacts"
  unzip -q -o "$work/out/fuzz_kernel_seed_corpus.zip" -d "$dir/corpus"
  set +e
  env "$@" "$work/out/fuzz_kernel" -max_total_time="${LIMIT:-$secs}" -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" "$dir/corpus" >"$dir/log" 2>&1
  echo $? >"$dir/status"
  set -e
}
final() { sed -n "s/^stat::$2: *//p" "$1" | tail -1; }

echo "== 1. libFuzzer on the faithful kernel, ${secs}s (must find nothing)"
libfuzz faithful
status=$(cat "$work/faithful/status")
if [ "$status" != 0 ] || ls "$work/faithful/artifacts/"crash-* >/dev/null 2>&1; then
  tail -40 "$work/faithful/log"
  fail "the faithful kernel failed under libFuzzer (exit $status)"
fi
lf_execs=$(final "$work/faithful/log" number_of_executed_units)
lf_rate=$(final "$work/faithful/log" average_exec_per_sec)
echo "clean: $lf_execs executions, $lf_rate/s"

echo "== 2. libFuzzer on $variant, semantic-only, up to ${crash_secs}s (must write a crash file)"
start=$(date +%s.%N)
LIMIT=$crash_secs libfuzz variant MMRACE_VARIANTS=$variant MMRACE_SEMANTIC_ONLY=1
end=$(date +%s.%N)
crash=$(ls "$work/variant/artifacts/"crash-* 2>/dev/null | head -1 || true)
if [ -z "$crash" ]; then
  tail -40 "$work/variant/log"
  fail "no crash file in ${crash_secs}s on $variant"
fi
to_crash=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
execs_to_crash=$(grep -o '^#[0-9]*' "$work/variant/log" | tail -1 | tr -d '#')
grep -m1 -A1 '===== VIOLATION' "$work/variant/log" || true
echo "crash file $crash ($(wc -c <"$crash") bytes) after ${to_crash}s (last status line #${execs_to_crash:-?})"

echo "== 3. replay the crash file with mmrace replay (must exit 1 with the violation)"
# In the copy that was built and fuzzed; built first, so that a build
# failure cannot pass for the exit status of a finding.
(cd "$work/src" && go build -o /dev/null ./cmd/mmrace) || fail "cmd/mmrace does not build"
set +e
(cd "$work/src" && go run ./cmd/mmrace replay "$crash" -variants "$variant" -rules=false) >"$work/replay.log" 2>&1
status=$?
set -e
sed -n '/^VERDICT/,/^$/p' "$work/replay.log"
[ "$status" = 1 ] || { cat "$work/replay.log"; fail "mmrace replay exited $status, want 1"; }
grep -q '^violation' "$work/replay.log" || { cat "$work/replay.log"; fail "mmrace replay printed no violation"; }

echo "== 4. go test -fuzz=FuzzKernel on the faithful kernel, ${secs}s, same machine"
gt() {
  local par=$1 log="$work/gotest-$1.log"
  set +e
  (cd "$work/src" && go test ./fuzz -run='^$' -fuzz='^FuzzKernel$' -fuzztime="${secs}s" -parallel="$par" >"$log" 2>&1)
  local s=$?
  set -e
  [ "$s" = 0 ] || { tail -30 "$log"; fail "go test -fuzz failed on the faithful kernel"; }
  # The last progress line: fuzz: elapsed: 1m0s, execs: N (R/sec), ...
  local line execs el
  line=$(grep 'fuzz: elapsed:' "$log" | tail -1)
  execs=$(echo "$line" | sed -n 's/.*execs: \([0-9]*\).*/\1/p')
  el=$(echo "$line" | sed -n 's/.*elapsed: \([0-9ms.]*\),.*/\1/p')
  echo "$execs $el"
}
read -r gt1_execs gt1_el < <(gt 1)
read -r gt2_execs gt2_el < <(gt "$(nproc)")
secs_of() { awk -v t="$1" 'BEGIN { m = 0; if (t ~ /m/) { split(t, a, "m"); m = a[1]; t = a[2] } sub(/s/, "", t); print m * 60 + t }'; }
rate() { awk -v n="$1" -v s="$(secs_of "$2")" 'BEGIN { printf "%.0f", n / s }'; }

echo
echo "== figures (FuzzKernel, faithful kernel, ${secs}s each, $(nproc) cores)"
printf '%-44s %12s %10s\n' engine executions 'execs/s'
printf '%-44s %12s %10s\n' "libFuzzer (go-118-fuzz-build, 1 process)" "$lf_execs" "$lf_rate"
printf '%-44s %12s %10s\n' "go test -fuzz -parallel=1" "$gt1_execs" "$(rate "$gt1_execs" "$gt1_el")"
printf '%-44s %12s %10s\n' "go test -fuzz -parallel=$(nproc)" "$gt2_execs" "$(rate "$gt2_execs" "$gt2_el")"
echo "libFuzzer on $variant: crash file after ${to_crash}s; replayed by mmrace replay: exit 1"
echo "libfuzzer-check: OK (work dir $work)"
