package fuzz

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"mmrace/harness"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
)

// longestEntry is the most ops a template's race or extra entry has ("a;
// b": two): an adversary draws one or two entries or general ops.
func longestEntry() int {
	n := 1
	for _, tp := range templates {
		for _, h := range append(append([]string(nil), tp.hot...), tp.extra...) {
			n = max(n, len(strings.Split(h, "; ")))
		}
	}
	return n
}

// TestPairProgram: a pair keeps the declarations and setup of the program
// it comes from, task keep's ops as t1, and one or two adversary ops as
// t2 (and a t3 one time in four); the same random source gives the same pair; every template gives
// pairs that parse, and ops of every kind of the decoder's appear as
// adversaries.
func TestPairProgram(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	kinds := map[string]bool{}
	built, threes := 0, 0
	for i := 0; i < 2000; i++ {
		data := RandomInput(rng)
		p, _ := Decode(data)
		keep := rng.IntN(len(p.Tasks))
		seed := rng.Uint64()
		q := PairProgram(rand.New(rand.NewPCG(seed, 0)), data, p, keep)
		if q == nil {
			continue
		}
		built++
		if len(q.Tasks) < 2 || len(q.Tasks) > 3 || len(q.Tasks[1]) == 0 || len(q.Tasks[1]) > 2*longestEntry() {
			t.Fatalf("pair of\n%s\nhas tasks %v", p, q.Tasks)
		}
		if !slices.EqualFunc(q.Tasks[0], p.Tasks[keep], func(a, b kernelsim.Op) bool { return a.String() == b.String() }) {
			t.Fatalf("pair of\n%s\nt1 = %v, want task %d's ops", p, q.Tasks[0], keep+1)
		}
		if !slices.EqualFunc(q.Setup, p.Setup, func(a, b kernelsim.Op) bool { return a.String() == b.String() }) || !slices.Equal(q.MMs, p.MMs) {
			t.Fatalf("pair of\n%s\nchanged the setup:\n%s", p, q)
		}
		if again := PairProgram(rand.New(rand.NewPCG(seed, 0)), data, p, keep); again == nil || again.String() != q.String() {
			t.Fatalf("pair not deterministic:\n%s\nthen\n%v", q, again)
		}
		for _, task := range q.Tasks[1:] {
			for _, o := range task {
				kinds[strings.Fields(o.String())[0]] = true
			}
		}
		threes += len(q.Tasks) - 2
	}
	if built < 1500 {
		t.Errorf("only %d of 2000 pairs parse", built)
	}
	for _, k := range []string{"migrate", "mremap", "store", "load", "fault", "munmap", "mprotect", "madvise", "reclaim", "exec", "mmap", "fork", "exit"} {
		if !kinds[k] {
			t.Errorf("no adversary of kind %s in 2000 pairs (kinds: %v)", k, kinds)
		}
	}
	// KeepAll: every task stays, the adversaries come after them.
	all := 0
	for i := 0; i < 300; i++ {
		data := RandomInput(rng)
		p, _ := Decode(data)
		q := PairProgram(rng, data, p, KeepAll)
		if q == nil {
			continue
		}
		all++
		if len(q.Tasks) < len(p.Tasks)+1 || len(q.Tasks) > len(p.Tasks)+2 {
			t.Fatalf("KeepAll of\n%s\ngave\n%s", p, q)
		}
		for i := range p.Tasks {
			if !slices.EqualFunc(q.Tasks[i], p.Tasks[i], func(a, b kernelsim.Op) bool { return a.String() == b.String() }) {
				t.Fatalf("KeepAll of\n%s\nchanged task %d:\n%s", p, i+1, q)
			}
		}
	}
	if all < 200 {
		t.Errorf("only %d of 300 KeepAll pairs parse", all)
	}
	if threes < built/8 || threes > built/3 {
		t.Errorf("%d of %d pairs have a second adversary, want about a quarter", threes, built)
	}
	if PairProgram(rng, nil, &kernelsim.Program{}, 0) != nil {
		t.Error("a pair of a program without tasks")
	}
}

// TestVerbPair: t1 is an op of the verb asked for, in templates of every
// kind (at least a third of them come up for a common verb), with one or
// two adversaries; an op the decoder never draws gives nil.
func TestVerbPair(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, verb := range []string{"fork", "migrate", "mremap", "reclaim", "munmap", "madvise", "exit", "collapse", "punch"} {
		setups := map[string]bool{}
		for i := 0; i < 400; i++ {
			p := VerbPair(rng, verb)
			if p == nil {
				continue
			}
			if len(p.Tasks) < 2 || len(p.Tasks) > 3 || len(p.Tasks[0]) != 1 || strings.Fields(p.Tasks[0][0].String())[0] != verb {
				t.Fatalf("VerbPair(%s):\n%s", verb, p)
			}
			var setup strings.Builder
			for _, o := range p.Setup {
				setup.WriteString(o.String() + "\n")
			}
			setups[setup.String()] = true
		}
		if verb == "fork" || verb == "migrate" || verb == "mremap" {
			if len(setups) < len(templates)/3 {
				t.Errorf("%s: %d setups of %d templates", verb, len(setups), len(templates))
			}
		} else if len(setups) == 0 {
			t.Errorf("%s: no pair", verb)
		}
	}
	if p := VerbPair(rng, "nosuch"); p != nil {
		t.Errorf("a pair of an unknown verb:\n%s", p)
	}
}

// TestTemplateRaces: every template's race parses (templateRace panics
// otherwise) and runs clean on the faithful kernel under a few PCT
// schedules, and the races of a verb all have an op of it.
func TestTemplateRaces(t *testing.T) {
	n := 0
	for _, verb := range pairVerbs {
		for _, p := range TemplateRaces(verb) {
			n++
			found := false
			for _, ops := range p.Tasks {
				for _, o := range ops {
					found = found || o.Verb.String() == verb
				}
			}
			for seed := uint64(1); seed <= 3; seed++ {
				rep := harness.Run(p, harness.Options{Strategy: sched.NewPCT(seed, 3, 400), SemanticOnly: true, MaxSteps: MaxSteps})
				if !rep.OK() {
					t.Fatalf("%s race, PCT seed %d, fails on the faithful kernel:\n%s", verb, seed, Dump(rep, Config{}))
				}
			}
			if !found {
				t.Errorf("%s: a race without a %s op:\n%s", verb, verb, p)
			}
		}
	}
	if migrate := TemplateRaces("migrate"); len(migrate) < len(templates)/3 {
		t.Errorf("%d template races with a migration of %d templates", len(migrate), len(templates))
	}
	if n == 0 {
		t.Fatal("no template races")
	}
}
