# mmrace: the targets CI and people use. `make test` is the README's test command.
GO ?= go

.PHONY: test race fuzz bench demo vet rewrite faithful detect hunt locks timeline stress nightly nightly-smoke oracle libfuzzer docs

test:
	$(GO) test ./...

race:
	$(GO) test -race -short ./kernelsim/... ./internal/... ./harness/... ./corpus/... ./fuzz/... ./minimize/... ./locks/...

# A short smoke of every fuzz target: by default an execution count per
# target (about 10 s each on this 2-core machine), not a duration: a
# duration -fuzztime on go1.26 can fail a clean run with "context deadline
# exceeded" at its end (golang/go#75804, fixed in go1.27; it failed CI's
# FuzzDecode once). FUZZTIME=30s (or 50000x) overrides every target.
FUZZTIME ?=
fuzztime = $(if $(FUZZTIME),$(FUZZTIME),$(1))
fuzz:
	$(GO) test ./kernelsim/sched -run='^$$' -fuzz='^FuzzParseSchedule$$' -fuzztime=$(call fuzztime,1000000x)
	$(GO) test ./internal/lockprog -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(call fuzztime,1000000x)
	$(GO) test ./kernelsim -run='^$$' -fuzz='^FuzzParseProgram$$' -fuzztime=$(call fuzztime,160000x)
	$(GO) test ./fuzz -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(call fuzztime,150000x)
	$(GO) test ./fuzz -run='^$$' -fuzz='^FuzzKernel$$' -fuzztime=$(call fuzztime,25000x)

# Seconds and executions to detection of every variant, semantic-only, from
# the seed corpus only (docs/fuzzing.md); rows in $OUT/results.tsv.
detect:
	scripts/fuzz-detect.sh 120

# Regenerate the expected outputs of the datadriven scenarios.
rewrite:
	$(GO) test ./corpus ./kernelsim -run 'TestCorpus|TestLockSequences' -rewrite

# Regenerate the catalogues of docs/ (invariants, variants) from the code.
docs:
	$(GO) test ./internal/docgen -run '^TestGeneratedDocs$$' -update

# The faithful kernel under 100,000 PCT executions of random programs.
faithful:
	MMRACE_EXECS=100000 $(GO) test ./harness -run TestFaithfulPCT -v -timeout 60m

# The model against this machine's kernel: 10,000 generated programs, the
# corpus and the selftest scenarios; prints the table of differences by kind.
oracle:
	$(GO) test ./oracle -run 'TestGenerated|TestSelftests|TestCorpus' -v -count=1

# BenchmarkSchedPoint (ns/point, x-handoff) and BenchmarkExec (ns/exec,
# allocs/exec, points/exec), in benchstat's format: compare two builds with
#   make bench BENCHCOUNT=10 > new.txt; benchstat old.txt new.txt
BENCHCOUNT ?= 1
bench:
	$(GO) test -run='^$$' -bench='^Benchmark(SchedPoint|Exec)$$' -count=$(BENCHCOUNT) ./kernelsim/sched ./harness

demo:
	$(GO) run ./cmd/mmrace demo

hunt:
	$(GO) run ./cmd/mmrace hunt

# The lock-necessity map: every acquisition site of the model mutated and
# searched semantic-only (LOCKS_BUDGET executions and/or time per mutant).
LOCKS_BUDGET ?= 2000
locks:
	$(GO) run ./cmd/mmrace locks -budget $(LOCKS_BUDGET) -out locks-out

stress:
	$(GO) run ./cmd/mmrace stress -duration 10m

# The nightly (scripts/nightly.sh): verdict.json and summary.md in
# nightly/DATE; NIGHTLY_SCALE multiplies its budgets (1: about 6 hours).
nightly:
	scripts/nightly.sh

# The nightly at scale 0.01 on hunt, locks and stress, two variants and the
# TLB flush sites: about 30 s, to know that it works (nightly/smoke-TIME).
nightly-smoke:
	NIGHTLY_SCALE=0.01 NIGHTLY_PARTS="hunt locks stress" \
	NIGHTLY_VARIANTS=move_ptes-skip-rmap-locks,mmap-vma-lock-after-i_mmap \
	NIGHTLY_LOCKS_SITES=tlb_flush scripts/nightly.sh nightly/smoke-$$(date +%Y%m%dT%H%M%S)

# The ClusterFuzzLite build of the fuzz targets (go-118-fuzz-build, libFuzzer)
# checked without Docker: installs clang and go-118-fuzz-build, fuzzes, replays,
# compares with go test -fuzz. About 6 minutes.
libfuzzer:
	scripts/libfuzzer-check.sh

# The HTML timeline checked in headless Chromium (installs Debian's chromium).
timeline:
	scripts/timeline-check.sh

vet:
	gofmt -l . | (! grep .)
	$(GO) vet ./...
