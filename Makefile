# mmrace: the targets CI and people use. `make test` is the README's test command.
GO ?= go

.PHONY: test race fuzz bench demo vet

test:
	$(GO) test ./...

race:
	$(GO) test -race -short ./kernelsim/... ./internal/...

# A short smoke of every fuzz target (FUZZTIME per target).
FUZZTIME ?= 10s
fuzz:
	$(GO) test ./kernelsim/sched -run='^$$' -fuzz='^FuzzParseSchedule$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./internal/lockprog -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME)

bench:
	$(GO) test -run='^$$' -bench=. ./kernelsim/...

demo:
	$(GO) run ./cmd/mmrace demo

vet:
	gofmt -l . | (! grep .)
	$(GO) vet ./...
