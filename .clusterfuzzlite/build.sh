#!/bin/bash -eu
# ClusterFuzzLite (and OSS-Fuzz) build of mmrace's native Go fuzz targets
# (testing.F) as libFuzzer binaries in $OUT. It runs in the image of
# .clusterfuzzlite/Dockerfile, whose base image provides
# compile_native_go_fuzzer (go-118-fuzz-build -func F -o F.a PKG, then
# $CXX $CXXFLAGS $LIB_FUZZING_ENGINE F.a -o $OUT/NAME). scripts/libfuzzer-check.sh
# runs this file outside Docker with a stand-in for compile_native_go_fuzzer
# that uses the same two commands, and fuzzes the result.
#
# The fuzz targets read their configuration from the environment at run
# time (fuzz.ConfigFromEnv): fuzz_kernel fuzzes the faithful kernel unless
# MMRACE_VARIANTS names variants, and ClusterFuzzLite runs it so, which is
# what it is for here: any crash is a bug in mmrace's model or harness.

# The go-118-fuzz-build whose encoding fuzz.DecodeLibFuzzer mirrors, and its
# testing shim, which the built packages import in place of testing.
GO118_FUZZ_BUILD=v0.0.0-20250520111509-a70c2aa677fa
go install github.com/AdamKorcz/go-118-fuzz-build@$GO118_FUZZ_BUILD
go get github.com/AdamKorcz/go-118-fuzz-build/testing@$GO118_FUZZ_BUILD

compile_native_go_fuzzer mmrace/fuzz FuzzKernel fuzz_kernel
compile_native_go_fuzzer mmrace/fuzz FuzzDecode fuzz_decode
compile_native_go_fuzzer mmrace/kernelsim FuzzParseProgram fuzz_parse_program
compile_native_go_fuzzer mmrace/kernelsim/sched FuzzParseSchedule fuzz_parse_schedule
compile_native_go_fuzzer mmrace/internal/lockprog FuzzParse fuzz_parse_lockprog

# The seeds of FuzzKernel and FuzzDecode (f.Add), in the libFuzzer encoding
# of their []byte argument, as their seed corpora.
seeds="$WORK/mmrace-seeds"
rm -rf "$seeds"
MMRACE_LIBFUZZER_SEEDS="$seeds" go test ./fuzz -count=1 -run '^TestLibFuzzerSeeds$'
for target in fuzz_kernel fuzz_decode; do
  rm -f "$OUT/${target}_seed_corpus.zip"
  zip -q -j "$OUT/${target}_seed_corpus.zip" "$seeds"/*
done
