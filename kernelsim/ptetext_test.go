package kernelsim

import (
	"fmt"
	"testing"

	"mmrace/kernelsim/sched"
)

// textOf records x in a one-task run and returns its object and detail
// texts as the trace makes them.
func textOf(x func() *sched.Text) (obj, detail string) {
	s := sched.New(sched.Options{})
	s.Spawn(func(t *sched.Task) { t.RecordF(sched.KindNote, "site", x()) })
	res := s.Run()
	for _, e := range res.Trace.Events {
		if e.Kind == sched.KindNote {
			return e.ObjText(), e.DetailText()
		}
	}
	panic(fmt.Sprintf("no event: %v", res.Verdict))
}

// TestPTETextMatchesString: pteTextOf with its formats prints every kind of
// PTE as PTE.String does, alone and in the formats of the hot events.
func TestPTETextMatchesString(t *testing.T) {
	small, large := &Folio{Obj: Obj{name: "f3"}}, &Folio{Obj: Obj{name: "f7"}}
	large.order.Store(2)
	var ptes []*PTE
	ptes = append(ptes, nil, &PTE{Kind: PTENone})
	for _, kind := range []PTEKind{PTEPresent, PTEMigration, PTESwap} {
		for _, f := range []*Folio{nil, small, large} {
			for _, huge := range []bool{false, true} {
				for _, rw := range [][2]bool{{false, false}, {true, false}, {true, true}, {false, true}} {
					ptes = append(ptes, &PTE{Kind: kind, Folio: f, Page: 2, Huge: huge && f != nil, Read: rw[0], Write: rw[1]})
				}
			}
		}
	}
	shapes := map[uint8]bool{}
	for _, p := range ptes {
		pt := pteTextOf(p)
		shapes[pt.shape] = true
		if _, d := textOf(func() *sched.Text { return pt.ops(sched.Detailf(pteShapeFmt(int(pt.shape)))) }); d != p.String() {
			t.Errorf("%#v: typed %q, String %q", p, d, p.String())
		}
		o, d := textOf(func() *sched.Text {
			return pt.ops(sched.Objf("pte %s %#x").S("mm1").N(0x15).Detailf(pteLooksAtFmt.of(pt)).S("mm2").N(0x16))
		})
		if want := fmt.Sprintf("looks at %s %#x: %s", "mm2", 0x16, p); o != "pte mm1 0x15" || d != want {
			t.Errorf("%#v: typed %q %q, want %q", p, o, d, want)
		}
		for _, q := range ptes[:6] {
			qt := pteTextOf(q)
			_, d := textOf(func() *sched.Text { return qt.ops(pt.ops(sched.Detailf(pteMoveFormats[pt.shape][qt.shape]))) })
			if want := p.String() + " -> " + q.String(); d != want {
				t.Errorf("move %#v -> %#v: typed %q, want %q", p, q, d, want)
			}
		}
	}
	if len(shapes) < 20 {
		t.Errorf("only %d PTE shapes exercised", len(shapes))
	}
}

// TestVMADescOps: vmaDescFmt with descOps prints VMA.Describe.
func TestVMADescOps(t *testing.T) {
	v := &VMA{Obj: Obj{name: "vma#3"}, start: 0x10, end: 0x18, pgoff: 0x30}
	if _, d := textOf(func() *sched.Text { return v.descOps(sched.Detailf("store " + vmaDescFmt)) }); d != "store "+v.Describe() {
		t.Errorf("typed %q, Describe %q", d, v.Describe())
	}
}
