package invariants_test

import (
	"strings"
	"testing"

	"go.uber.org/goleak"

	"mmrace/invariants"
	"mmrace/kernelsim"
	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// state is a quiescent kernel: a file mapping, an anon mapping with pages,
// a THP mapped by a PMD leaf, one split into PTEs, a fork child sharing
// them, and some loads.
const state = `
mm mm1
file file1 8
file hfile 64 hugetlb
setup: mmap mm1 0x10+4 anon rw
setup: store mm1 0x10 7
setup: store mm1 0x11 8
setup: mmap mm1 0x20+2 file1@0x0 shared rw
setup: store mm1 0x20 9
setup: mmap mm1 0x30+8 anon rw thp
setup: store mm1 0x31 5
setup: mmap mm1 0x40+8 anon rw thp
setup: store mm1 0x42 6
setup: mprotect mm1 0x44+4 r
setup: mmap mm1 0x80+64 hfile@0x0 shared rw
setup: store mm1 0x88 3
setup: fork mm1 mm2
setup: load mm2 0x10
setup: load mm2 0x88
setup: mprotect mm1 0x12+1 r
`

// build runs ops sequentially in one task on k.
func build(t *testing.T, k *kernelsim.Kernel, ops []kernelsim.Op) {
	t.Helper()
	s := sched.New(sched.Options{Strategy: sched.NewBytes(nil)})
	s.Spawn(func(tk *sched.Task) {
		for _, o := range ops {
			if err := k.Exec(tk, &o); err != nil {
				t.Errorf("%s: %v", o, err)
			}
		}
	})
	if r := s.Run(); r.Verdict.Outcome != sched.OK {
		t.Fatalf("building the state: %v", r.Verdict)
	}
}

func newState(t *testing.T) *kernelsim.Kernel {
	t.Helper()
	p, err := kernelsim.Parse("state", state)
	if err != nil {
		t.Fatal(err)
	}
	k := kernelsim.New(ksync.Config{}, nil)
	kernelsim.Build(p, k)
	build(t, k, p.Setup)
	return k
}

func exitAll(t *testing.T, k *kernelsim.Kernel) {
	s := sched.New(sched.Options{Strategy: sched.NewBytes(nil)})
	s.Spawn(func(tk *sched.Task) {
		for _, m := range k.MMs() {
			k.ExitProcess(tk, m)
		}
	})
	if r := s.Run(); r.Verdict.Outcome != sched.OK {
		t.Fatalf("exit: %v", r.Verdict)
	}
}

// TestCheckers runs each checker on the clean state (-ok: no violation) and
// after the corruption that breaks its rule (-bad: a violation of that name
// with a detail that names the object).
func TestCheckers(t *testing.T) {
	type check func(*kernelsim.Kernel) []sched.Violation
	loadAfter := func(k *kernelsim.Kernel) []sched.Violation {
		build(t, k, []kernelsim.Op{{Task: -1, Verb: kernelsim.OpLoad, MM: "mm1", Addr: 0x11}})
		return invariants.MemoryContents(k)
	}
	leaks := func(k *kernelsim.Kernel) []sched.Violation {
		exitAll(t, k)
		return invariants.Leaks(k)
	}
	for _, tc := range []struct {
		name    string
		check   check
		corrupt string
		mm      string
		addr    int
		detail  string
	}{
		{"rmap-complete", invariants.RmapComplete, "drop-avc", "mm2", 0x10, "has no AVC for"},
		{"rmap-complete", invariants.RmapComplete, "shift-pgoff", "mm1", 0x20, "vma_address finds it"},
		{"mapcount-rss", invariants.MapcountRSS, "bump-mapcount", "mm1", 0x10, "Bad page map"},
		{"mapcount-rss", invariants.MapcountRSS, "bump-rss", "mm1", 0x10, "Bad rss-counter state"},
		{"vma-tree", invariants.VMATree, "overlap", "mm1", 0x10, "overlaps"},
		{"anon-vma-hierarchy", invariants.AnonVMAHierarchy, "bump-active-vmas", "mm1", 0x10, "num_active_vmas"},
		{"page-table-lifetime", invariants.PageTableLifetime, "free-pte-table", "mm1", 0x10, "points to pt#"},
		{"rmap-complete", invariants.RmapComplete, "shift-pgoff", "mm1", 0x40, "vma_address finds it"},
		{"rmap-complete", invariants.RmapComplete, "shift-pgoff", "mm2", 0x30, "vma_address finds it"},
		{"mapcount-rss", invariants.MapcountRSS, "bump-mapcount", "mm1", 0x42, "Bad page map"},
		{"mapcount-rss", invariants.MapcountRSS, "bump-entire-mapcount", "mm1", 0x30, "entire mapcount"},
		{"page-table-lifetime", invariants.PageTableLifetime, "pmd-pfn0", "mm1", 0x40, "points to pt#pfn0"},
		{"page-table-lifetime", invariants.PageTableLifetime, "free-deposit", "mm2", 0x30, "deposited table"},
		{"memory-contents", loadAfter, "scribble", "mm1", 0x11, "returned 1008, expected 8"},
		{"leak", leaks, "hold-anon-vma-ref", "mm1", 0x10, "survives exit"},
		{"shared-pmd-lifetime", invariants.SharedPMDs, "bump-pt-share", "mm2", 0x88, "pt_share_count 2"},
		{"shared-pmd-lifetime", invariants.SharedPMDs, "free-shared-pmd", "mm1", 0x88, "freed"},
		{"hugetlb-reservation", invariants.HugetlbReservations, "bump-resv", "mm1", 0x88, "resv_huge_pages is"},
	} {
		t.Run(tc.name+"-ok/"+tc.corrupt, func(t *testing.T) {
			if v := tc.check(newState(t)); len(v) > 0 {
				t.Fatalf("clean state: %v", v)
			}
		})
		t.Run(tc.name+"-bad/"+tc.corrupt, func(t *testing.T) {
			k := newState(t)
			if err := k.Corrupt(tc.corrupt, tc.mm, tc.addr); err != nil {
				t.Fatal(err)
			}
			v := tc.check(k)
			if len(v) == 0 {
				t.Fatalf("%s: no violation after %s", tc.name, tc.corrupt)
			}
			for _, x := range v {
				if x.Invariant == tc.name && strings.Contains(x.Detail, tc.detail) {
					t.Logf("%s", x)
					return
				}
			}
			t.Fatalf("got %v, want %s containing %q", v, tc.name, tc.detail)
		})
	}
}

// TestCleanStateAllCheckers: the clean state passes every checker, through
// exit and the leak checks.
func TestCleanStateAllCheckers(t *testing.T) {
	k := newState(t)
	if v := append(invariants.Quiescent(k), invariants.MemoryContents(k)...); len(v) > 0 {
		t.Fatalf("%v", v)
	}
	exitAll(t, k)
	if v := invariants.Leaks(k); len(v) > 0 {
		t.Fatalf("%v", v)
	}
}
