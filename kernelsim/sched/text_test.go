package sched_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"mmrace/kernelsim/sched"
)

// pte is a Stringer like the model's *PTE: a pointer whose String handles nil.
type pte struct{ folio string }

func (p *pte) String() string {
	if p == nil {
		return "none"
	}
	return p.folio + "/rw"
}

// record runs one task that records x with PointF and returns the event.
func record(x func() *sched.Text) sched.Event {
	s := sched.New(sched.Options{})
	s.Spawn(func(t *sched.Task) { t.PointF(sched.KindWrite, "site", x()) })
	res := s.Run()
	for _, e := range res.Trace.Events {
		if e.Kind == sched.KindWrite {
			return e
		}
	}
	panic(fmt.Sprintf("no event: %v", res.Verdict))
}

func TestTextMatchesSprintf(t *testing.T) {
	var nilPTE *pte
	for _, tc := range []struct {
		format string
		text   func(x *sched.Text) *sched.Text
		args   []any
	}{
		{"plain", func(x *sched.Text) *sched.Text { return x }, nil},
		{"pte %s %#x", func(x *sched.Text) *sched.Text { return x.S("mm1").N(0x15) }, []any{"mm1", 0x15}},
		{"%d %x %#x %X %#X", func(x *sched.Text) *sched.Text { return x.N(-7).N(-255).N(-16).N(0xabc).N(0) },
			[]any{-7, -255, -16, 0xabc, 0}},
		{"[%#x,%#x) pgoff %#x -> [%#x,%#x) pgoff %#x", func(x *sched.Text) *sched.Text { return x.N(0x10).N(0x18).N(0x10).N(0x14).N(0x18).N(0x14) },
			[]any{0x10, 0x18, 0x10, 0x14, 0x18, 0x14}},
		{"%v -> %v", func(x *sched.Text) *sched.Text { return x.V(nilPTE).V(&pte{"f2"}) }, []any{nilPTE, &pte{"f2"}}},
		{"%v", func(x *sched.Text) *sched.Text { return x.V(nil) }, []any{nil}},
		{"need_rmap_locks=%t, %t", func(x *sched.Text) *sched.Text { return x.B(true).B(false) }, []any{true, false}},
		{"100%% of %s, %s and %s", func(x *sched.Text) *sched.Text { return x.S("a").S("").S("c") }, []any{"a", "", "c"}},
		{"missing %s %d %v %t", func(x *sched.Text) *sched.Text { return x }, nil},
		{"trailing %", func(x *sched.Text) *sched.Text { return x }, nil},
	} {
		want := fmt.Sprintf(tc.format, tc.args...)
		if got := record(func() *sched.Text { return tc.text(sched.Objf(tc.format)) }).ObjText(); got != want {
			t.Errorf("object %q: got %q, want %q", tc.format, got, want)
		}
		e := record(func() *sched.Text { return tc.text(sched.Obj("o").Detailf(tc.format)) })
		if got := e.DetailText(); got != want || e.ObjText() != "o" || e.Obj != "o" || e.Detail != "" {
			t.Errorf("detail %q: got %q (object %q), want %q", tc.format, got, e.ObjText(), want)
		}
	}
}

// TestTextUnsupportedVerb: a verb Text does not take is marked in the
// text, as fmt marks a bad verb.
func TestTextUnsupportedVerb(t *testing.T) {
	if got := record(func() *sched.Text { return sched.Objf("%q %4d").N(1) }).ObjText(); got != "%!q(BADVERB) %!4(BADVERB)d" {
		t.Fatalf("got %q", got)
	}
}

// TestTextRandomFormats checks 10,000 random formats of literal text and
// the supported verbs against fmt.Sprintf.
func TestTextRandomFormats(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"%s", "%d", "%x", "%#x", "%X", "%t", "%v", "%%", "lit", " ", "->", "0x"}
	for i := 0; i < 10_000; i++ {
		var format strings.Builder
		var args []any
		var add []func(*sched.Text) *sched.Text
		ns, nn, nv := 1, 0, 0 // the object takes a string
		for j := rng.IntN(8); j > 0; j-- {
			p := pieces[rng.IntN(len(pieces))]
			switch p {
			case "%s":
				if ns++; ns > 3 {
					continue
				}
				s := fmt.Sprint(rng.IntN(1000))
				args, add = append(args, s), append(add, func(x *sched.Text) *sched.Text { return x.S(s) })
			case "%d", "%x", "%#x", "%X":
				if nn++; nn > 6 {
					continue
				}
				n := rng.IntN(1<<20) - 1<<19
				args, add = append(args, n), append(add, func(x *sched.Text) *sched.Text { return x.N(n) })
			case "%t":
				if nn++; nn > 6 {
					continue
				}
				b := rng.IntN(2) == 0
				args, add = append(args, b), append(add, func(x *sched.Text) *sched.Text { return x.B(b) })
			case "%v":
				if nv++; nv > 2 {
					continue
				}
				v := &pte{fmt.Sprint("f", rng.IntN(9))}
				args, add = append(args, v), append(add, func(x *sched.Text) *sched.Text { return x.V(v) })
			}
			format.WriteString(p)
		}
		f := format.String()
		e := record(func() *sched.Text {
			x := sched.Objf("%s obj").S("the").Detailf(f)
			for _, a := range add {
				x = a(x)
			}
			return x
		})
		if want := fmt.Sprintf(f, args...); e.DetailText() != want || e.ObjText() != "the obj" {
			t.Fatalf("%q: got %q (object %q), want %q", f, e.DetailText(), e.ObjText(), want)
		}
	}
}

// amendProgram is a 3-task program whose events are recorded either plain
// (Point, Record, Amend with fmt.Sprintf'd texts) or typed (PointF, RecordF,
// AmendF): the same texts either way. It mixes amends of plain and typed
// events with plain and typed details.
func amendProgram(strat sched.Strategy, mode sched.Mode, typed bool, pool *sched.Pool) sched.Result {
	s := sched.New(sched.Options{Strategy: strat, Mode: mode, Seed: 3, Pool: pool})
	tasks := 3
	if mode == sched.Free {
		tasks = 1 // one task: the free-mode trace is then deterministic too
	}
	for i := 0; i < tasks; i++ {
		s.Spawn(func(t *sched.Task) {
			old := &pte{"f1"}
			for k := 0; k < 6; k++ {
				addr, now := 0x10+k, &pte{fmt.Sprint("f", k+2)}
				if typed {
					t.PointF(sched.KindWrite, "set_pte", sched.Objf("pte %s %#x").S("mm1").N(addr).Detailf("%v -> %v").V(old).V(now))
					t.PointF(sched.KindTrylock, "try", sched.Obj("lock").Detail("read"))
					t.AmendF(sched.Detailf("read %s at %#x").S([]string{"ok", "failed"}[k%2]).N(addr))
					t.RecordF(sched.KindNote, "note", sched.Objf("vma#%d").N(k).Detail("reuses"))
					t.AmendF(sched.Detail("amended plain"))
					t.PointF(sched.KindRead, "read", sched.Objf("pmd %s").S("mm1").Detailf("%d").N(k))
					t.AmendF(sched.Detailf("%d again, %t").N(k).B(k > 2))
				} else {
					t.Point(sched.KindWrite, fmt.Sprintf("pte %s %#x", "mm1", addr), "set_pte", fmt.Sprintf("%v -> %v", old, now))
					t.Point(sched.KindTrylock, "lock", "try", "read")
					t.Amend(fmt.Sprintf("read %s at %#x", []string{"ok", "failed"}[k%2], addr))
					t.Record(sched.KindNote, fmt.Sprintf("vma#%d", k), "note", "reuses")
					t.Amend("amended plain")
					t.Point(sched.KindRead, fmt.Sprintf("pmd %s", "mm1"), "read", fmt.Sprint(k))
					t.Amend(fmt.Sprintf("%d again, %t", k, k > 2))
				}
				old = now
			}
		})
	}
	return s.Run()
}

// TestTypedHashesLikePlain: a trace recorded typed prints, reads and hashes
// exactly like the same texts recorded plain, so converting call sites to
// PointF leaves every trace hash unchanged.
func TestTypedHashesLikePlain(t *testing.T) {
	for seed := uint64(0); seed < 20; seed++ {
		for _, mode := range []sched.Mode{sched.Controlled, sched.Free} {
			plain := amendProgram(sched.NewRandom(seed), mode, false, nil)
			typed := amendProgram(sched.NewRandom(seed), mode, true, nil)
			if plain.Verdict.Outcome != sched.OK || typed.Verdict.Outcome != sched.OK {
				t.Fatalf("verdicts %v, %v", plain.Verdict, typed.Verdict)
			}
			if p, q := plain.Trace.String(), typed.Trace.String(); p != q {
				t.Fatalf("seed %d %v: the traces print differently:\n%s\n---\n%s", seed, mode, p, q)
			}
			if plain.Trace.Hash() != typed.Trace.Hash() {
				t.Fatalf("seed %d %v: same text, different hashes", seed, mode)
			}
			for i, e := range typed.Trace.Events {
				p := plain.Trace.Events[i]
				if e.ObjText() != p.Obj || e.DetailText() != p.Detail || e.ObjText() != p.ObjText() || e.DetailText() != p.DetailText() {
					t.Fatalf("event %d: typed %q %q, plain %q %q", i, e.ObjText(), e.DetailText(), p.Obj, p.Detail)
				}
			}
		}
	}
}

// TestTraceHashPinned pins Trace.Hash of a plain-recorded run to the value
// it had before typed events existed (commit 0b25a5a), so that the hashes
// in corpus files and bug reports keep their meaning.
func TestTraceHashPinned(t *testing.T) {
	s := sched.New(sched.Options{Strategy: sched.NewRandom(7)})
	spawnN(s, 3, func(t *sched.Task) {
		for k := 0; k < 5; k++ {
			t.Point(sched.KindWrite, fmt.Sprintf("pte mm1 %#x", 16+k), "w", fmt.Sprintf("%d -> %d", k, k+1))
			if t.Choose(3, "c") == 2 {
				t.Point(sched.KindTrylock, "lock", "try", "read")
				t.Amend("read ok")
			}
			t.Record(sched.KindNote, "", "n", "")
		}
	})
	res := s.Run()
	const hash, replay = 0x6f227a67d75a635a, "v1.BAIgBSADBAMAAQIFBAUCBAIFBAMABQQDBAEAAgADAQEFSNyc5w"
	if res.Trace.Hash() != hash || res.ReplayString() != replay {
		t.Fatalf("hash %#x and replay %s, pinned %#x and %s", res.Trace.Hash(), res.ReplayString(), uint64(hash), replay)
	}
}

// TestTextTooManyOperands: more operands than a Text holds is the caller's
// bug, reported as an internal error of the run.
func TestTextTooManyOperands(t *testing.T) {
	s := sched.New(sched.Options{})
	s.Spawn(func(t *sched.Task) {
		t.PointF(sched.KindWrite, "site", sched.Objf("%d%d%d%d%d%d%d").N(1).N(2).N(3).N(4).N(5).N(6).N(7))
	})
	res := s.Run()
	if res.Verdict.Outcome != sched.Internal || !strings.Contains(res.Verdict.Violation.Detail, "sched.Text: more integer operands") {
		t.Fatalf("got %v", res.Verdict)
	}
}

// ExampleText records a PTE write with typed parts, as the package
// documentation shows, and reads it back.
func ExampleText() {
	s := sched.New(sched.Options{})
	s.Spawn(func(t *sched.Task) {
		old, pte := (*pte)(nil), &pte{"f2"}
		t.PointF(sched.KindWrite, "move_ptes", sched.Objf("pte %s %#x").S("mm1").N(0x15).Detailf("%v -> %v").V(old).V(pte))
		t.PointF(sched.KindAcquire, "move_ptes", sched.Obj("ptl(pt#1)").Detail("write"))
	})
	tr := s.Run().Trace
	for _, e := range tr.Events {
		fmt.Println(strings.TrimSpace(e.String()))
	}
	e := tr.Events[1]
	fmt.Printf("Obj %q, ObjText %q, DetailText %q\n", e.Obj, e.ObjText(), e.DetailText())
	// Output:
	// 0 t1  start
	// 0 t1  write    pte mm1 0x15 @move_ptes: none -> f2/rw
	// 1 t1  acquire  ptl(pt#1) @move_ptes: write
	// 2 t1  exit
	// Obj "", ObjText "pte mm1 0x15", DetailText "none -> f2/rw"
}
