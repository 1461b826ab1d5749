package lockprog

import (
	"math/rand/v2"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRoundTrip(t *testing.T) {
	for i := 0; i < 1000; i++ {
		p := Generate(rand.New(rand.NewPCG(uint64(i), 1)), 2+i%3)
		q, err := Parse("gen", p.String())
		if err != nil {
			t.Fatal(err)
		}
		if q.String() != p.String() || q.Tasks != p.Tasks {
			t.Fatalf("round trip differs:\n%s\n---\n%s", p, q)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "f: no operations"},
		{"down_write A", `f:1: expected a task name`},
		{"t1 down_write A", `f:1: expected a task name`},
		{"t9: nop", `f:1: expected a task t1..t8`},
		{"t01: nop", `f:1: expected a task t1..t8`},
		{"\n\nt1:", `f:3: expected an operation`},
		{"t1: down_write", "f:1: down_write takes one object (A or B)"},
		{"t1: down_write Z", `f:1: down_write takes A or B, got "Z"`},
		{"t1: nop X", `f:1: nop takes no object`},
	} {
		_, err := Parse("f", tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("t1: down_write A\nt2: vma_read V1 # comment\n")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse("fuzz", s)
		if err != nil {
			return
		}
		q, err := Parse("again", p.String())
		if err != nil || q.String() != p.String() {
			t.Fatalf("canonical form does not round-trip: %v", err)
		}
	})
}
