package oracle

import (
	"slices"
	"testing"

	"mmrace/kernelsim"
)

func anon(start, end int, prot string) VMA {
	return VMA{Start: start, End: end, Prot: prot, Pgoff: -1}
}

// TestCompareVMAs checks each VMA category on a hand-made pair of layouts.
func TestCompareVMAs(t *testing.T) {
	file := VMA{Start: 0x10, End: 0x12, Prot: "r", File: "file1", Pgoff: 2}
	moved := file
	moved.Pgoff = 3
	shared := file
	shared.Shared = true
	for _, tc := range []struct {
		host, model []VMA
		want        string
	}{
		{[]VMA{anon(0x10, 0x13, "rw")}, []VMA{anon(0x10, 0x13, "rw")}, ""},
		{[]VMA{anon(0x10, 0x13, "rw")}, []VMA{anon(0x10, 0x12, "rw"), anon(0x12, 0x13, "rw")}, "vma-merge"},
		{[]VMA{anon(0x10, 0x12, "rw"), anon(0x12, 0x13, "r")}, []VMA{anon(0x10, 0x13, "rw")}, "vma-split"},
		{[]VMA{anon(0x10, 0x12, "rw"), anon(0x12, 0x14, "rw")}, []VMA{anon(0x10, 0x11, "rw"), anon(0x11, 0x14, "rw")}, "vma-bounds"},
		{[]VMA{anon(0x10, 0x13, "r")}, []VMA{anon(0x10, 0x13, "rw")}, "vma-prot"},
		{[]VMA{file}, []VMA{shared}, "vma-backing"},
		{[]VMA{file}, []VMA{moved}, "vma-pgoff"},
		{[]VMA{anon(0x10, 0x14, "rw")}, []VMA{anon(0x10, 0x13, "rw")}, "vma-host-only"},
		{[]VMA{anon(0x10, 0x12, "rw")}, []VMA{anon(0x10, 0x13, "rw")}, "vma-model-only"},
		{[]VMA{anon(0x10, 0x12, "rw")}, []VMA{anon(0x11, 0x13, "rw")}, "vma-layout"},
	} {
		got, d := compareVMAs(tc.host, tc.model)
		if got != tc.want {
			t.Errorf("host %v, model %v: got %q (%s), want %q", tc.host, tc.model, got, d, tc.want)
		}
		if got != "" && categories[got] == "" {
			t.Errorf("category %q has no description", got)
		}
	}
}

// TestComparePages checks the present-page and value categories, and that
// a page the kernel's fault-around mapped ahead of the model is tolerated
// only when the model's page cache holds that very page.
func TestComparePages(t *testing.T) {
	for _, tc := range []struct {
		host, model []Page
		want        string
	}{
		{[]Page{{0x10, 1, false}}, []Page{{0x10, 1, false}}, ""},
		{[]Page{{0x10, 1, false}, {0x11, 0, false}}, []Page{{0x10, 1, false}}, "present-host-only"},
		{[]Page{{0x10, 1, false}}, []Page{{0x10, 1, false}, {0x11, 0, false}}, "present-model-only"},
		{[]Page{{0x10, 1, false}}, []Page{{0x11, 1, false}}, "present"},
		{[]Page{{0x10, 1, false}}, []Page{{0x10, 2, false}}, "value"},
		{[]Page{{0x10, 1, true}}, []Page{{0x10, 1, false}}, "page-backing"},
	} {
		got, d := comparePages(tc.host, tc.model)
		if got != tc.want {
			t.Errorf("host %v, model %v: got %q (%s), want %q", tc.host, tc.model, got, d, tc.want)
		}
		if got != "" && categories[got] == "" {
			t.Errorf("category %q has no description", got)
		}
	}
	vmas := []VMA{{Start: 0x10, End: 0x14, Prot: "r", File: "file1", Pgoff: 4, Shared: true}}
	hs := &MMState{MM: "mm1", VMAs: vmas, Pages: []Page{{0x10, 0, true}, {0x11, 7, true}, {0x12, 9, true}, {0x13, 3, false}}}
	ms := &MMState{MM: "mm1", VMAs: vmas, Pages: []Page{{0x10, 0, true}}}
	model := &Obs{Files: []FileState{{Name: "file1", Cached: []Page{{4, 0, false}, {5, 7, false}, {6, 8, false}, {7, 3, false}}}}}
	got, ahead := faultAround(hs, ms, model)
	// 0x11 is file page 5, cached with the value the host shows: fault-around.
	// 0x12 is page 6, cached with another value: a real difference. 0x13
	// is private memory: a real difference too.
	if want := []Page{{0x10, 0, true}, {0x12, 9, true}, {0x13, 3, false}}; !slices.Equal(got, want) {
		t.Errorf("faultAround kept %v, want %v", got, want)
	}
	if !slices.Equal(ahead, []int{0x11}) {
		t.Errorf("faultAround tolerated %v, want [0x11]", ahead)
	}
}

// TestCompareResults checks the result categories and that a skipped op's
// result is not compared.
func TestCompareResults(t *testing.T) {
	st := planStep{op: kernelsim.Op{Verb: kernelsim.OpMremap, Len: 1, NewLen: 2}}
	ok := Result{Outcome: "ok"}
	for _, tc := range []struct {
		host, model Result
		want        string
	}{
		{ok, ok, ""},
		{Result{Outcome: "ENOMEM"}, ok, "mremap-grow: result host=ENOMEM model=ok"},
		{Result{Outcome: "skipped"}, Result{Outcome: "EAGAIN"}, ""},
		{ok, Result{Outcome: "violation", Detail: "bug-on: copy_vma"}, "mremap-grow: model-violation"},
		{Result{Outcome: "ok", Value: 1}, ok, "mremap-grow: loaded-value"},
	} {
		d, _ := compare(0, st, Obs{Result: tc.host}, Obs{Result: tc.model})
		got := ""
		if d != nil {
			got = d.Kind
		}
		if got != tc.want {
			t.Errorf("host %v, model %v: got %q, want %q", tc.host, tc.model, got, tc.want)
		}
		if d != nil && Category(d.Kind) == "" {
			t.Errorf("%q has no category description", d.Kind)
		}
	}
}

// TestOpLines numbers the ops in program order across comments, blank
// lines and interleaved tasks.
func TestOpLines(t *testing.T) {
	text := "# a comment: with a colon\nmm mm1\nt2: load mm1 0x10\nsetup: mmap mm1 0x10+1 anon rw\n\nt1: store mm1 0x10 1 # t3: no\nt1: load mm1 0x10\n"
	if got, want := OpLines(text), []int{4, 6, 7, 3}; !slices.Equal(got, want) {
		t.Errorf("OpLines = %v, want %v", got, want)
	}
}

// TestParseReplies reads the helper's replies and rejects malformed ones.
func TestParseReplies(t *testing.T) {
	s, err := parseSnapshot("mm1", "ok\nv 16 19 rw-p -1 -\nv 32 36 r--s 2 file1\np 16 7\np 33 0 f\n")
	if err != nil {
		t.Fatal(err)
	}
	want := MMState{MM: "mm1", VMAs: []VMA{anon(16, 19, "rw"), {Start: 32, End: 36, Prot: "r", Shared: true, File: "file1", Pgoff: 2}}, Pages: []Page{{16, 7, false}, {33, 0, true}}}
	if !slices.Equal(s.VMAs, want.VMAs) || !slices.Equal(s.Pages, want.Pages) {
		t.Errorf("parseSnapshot = %+v, want %+v", s, want)
	}
	for _, bad := range []string{"err EINVAL", "ok\nv 1 2", "ok\np x 1", "ok\np 1 1 g", "ok\nq"} {
		if _, err := parseSnapshot("mm1", bad); err == nil {
			t.Errorf("parseSnapshot(%q) accepted it", bad)
		}
	}
	for rep, want := range map[string]Result{"ok": {Outcome: "ok"}, "ok 42": {Outcome: "ok", Value: 42}, "err ENOMEM": {Outcome: "ENOMEM"}, "sig SIGSEGV": {Outcome: "SIGSEGV"}} {
		if got, err := parseResult(rep); err != nil || got != want {
			t.Errorf("parseResult(%q) = %v, %v; want %v", rep, got, err, want)
		}
	}
	for _, bad := range []string{"", "ok x", "maybe", "err"} {
		if _, err := parseResult(bad); err == nil {
			t.Errorf("parseResult(%q) accepted it", bad)
		}
	}
}

// TestLimits: ops past the model's address space or a file's end, and a
// growing fixed move, stop the comparison before them.
func TestLimits(t *testing.T) {
	p, err := kernelsim.Parse("limits", "mm mm1\nfile f 4\nsetup: mmap mm1 0x10+2 anon rw\nt1: mmap mm1 0x1ff+2 anon rw\nt1: load mm1 0x10\n")
	if err != nil {
		t.Fatal(err)
	}
	pl := newPlan(p)
	if pl.limit == nil || pl.limit.Name != LimitSpace.Name || pl.limit.Step != 1 || len(pl.steps) != 1 {
		t.Errorf("plan: limit %v, %d steps; want address-space at op 2", pl.limit, len(pl.steps))
	}
	files := map[string]int{"f": 4}
	for _, tc := range []struct {
		op   kernelsim.Op
		want *Limit
	}{
		{kernelsim.Op{Verb: kernelsim.OpMmap, Addr: 0x10, Len: 2, File: "f", Pgoff: 3}, &LimitFileEOF},
		{kernelsim.Op{Verb: kernelsim.OpMremap, Addr: 0x10, Len: 2, Fixed: true, NewAddr: 0x20, NewLen: 3}, &LimitFixedGrow},
		{kernelsim.Op{Verb: kernelsim.OpMremap, Addr: 0x10, Len: 2, Fixed: true, NewAddr: 0x20, NewLen: 3, DontUnmap: true}, nil},
		{kernelsim.Op{Verb: kernelsim.OpMremap, Addr: 0x10, Len: 2, NewLen: 0x200}, &LimitSpace},
		{kernelsim.Op{Verb: kernelsim.OpStore, Addr: 0x200}, &LimitSpace},
		{kernelsim.Op{Verb: kernelsim.OpStore, Addr: 0x1ff}, nil},
	} {
		if got := limitOf(tc.op, 0x200, files); got != tc.want {
			t.Errorf("%v: limit %v, want %v", tc.op, got, tc.want)
		}
	}
}
