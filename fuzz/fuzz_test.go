package fuzz

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func seeds() [][]byte { return Seeds() }

// FuzzKernel decodes a program and a schedule, runs them under the variants
// of MMRACE_VARIANTS, checks every invariant, and fails with the sectioned
// report on any violation or deadlock, and on any internal error of the
// harness (reported as the harness's own bug, never as a finding).
func FuzzKernel(f *testing.F) {
	cfg, err := ConfigFromEnv()
	if err != nil {
		f.Fatal(err)
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
