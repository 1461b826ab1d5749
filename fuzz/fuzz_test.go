package fuzz

// This file holds the fuzz targets and nothing they do not need: OSS-Fuzz's
// compile_native_go_fuzzer (go-118-fuzz-build) compiles the file that
// defines the target into the package as a plain .go file, with the
// testing import swapped for its own libFuzzer shim, and leaves every other
// _test.go file out. So the helpers the targets call live here, and
// TestMain lives in main_test.go. scripts/libfuzzer-check.sh builds them so.

import (
	"testing"

	"mmrace/kernelsim"
)

func seeds() [][]byte { return Seeds() }

// FuzzKernel decodes a program and a schedule, runs them under the variants
// of MMRACE_VARIANTS, checks every invariant, and fails with the sectioned
// report on any violation or deadlock, and on any internal error of the
// harness (reported as the harness's own bug, never as a finding).
func FuzzKernel(f *testing.F) {
	cfg, err := ConfigFromEnv()
	if err != nil {
		f.Fatal(err)
		panic(err) // reached only in a libFuzzer build: the shim's F.Fatal returns
	}
	for _, s := range seeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rep := Run(data, cfg)
		switch {
		case rep.InternalError():
			t.Fatalf("MMRACE INTERNAL ERROR (the harness failed; this is not a finding about the kernel)\n%s", Dump(rep, cfg))
		case rep.Finding():
			t.Fatalf("mmrace found a %s\n%s", rep.Verdict.Outcome, Dump(rep, cfg))
		}
	})
}

// FuzzDecode: any bytes decode to a valid program whose text parses back to
// the same program, and decoding is a pure function of the bytes.
func FuzzDecode(f *testing.F) {
	for _, s := range seeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, s1 := Decode(data)
		q, s2 := Decode(data)
		if p.String() != q.String() || string(s1) != string(s2) {
			t.Fatal("Decode is not deterministic")
		}
		if len(s1) > len(data) {
			t.Fatal("schedule part longer than the input")
		}
		checkRoundTrip(t, p)
	})
}

func checkRoundTrip(t *testing.T, p *kernelsim.Program) {
	t.Helper()
	q, err := kernelsim.Parse("text", p.String())
	if err != nil {
		t.Fatalf("the text of a decoded program does not parse: %v\n%s", err, p)
	}
	if q.String() != p.String() {
		t.Fatalf("text round trip differs:\n%s\n---\n%s", p, q)
	}
}
