package kernelsim_test

import (
	"fmt"
	"strings"
	"testing"

	"mmrace/kernelsim"
	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// runSeq parses src and runs its setup ops and then t1's ops in one task,
// returning the kernel (before exit) and t1's events.
func runSeq(t *testing.T, src string) (*kernelsim.Kernel, []sched.Event) {
	t.Helper()
	p, err := kernelsim.Parse("seq", src)
	if err != nil {
		t.Fatal(err)
	}
	k := kernelsim.New(ksync.Config{}, nil)
	kernelsim.Build(p, k)
	ops := append([]kernelsim.Op(nil), p.Setup...)
	var mark int
	s := sched.New(sched.Options{Strategy: sched.NewBytes(nil)})
	s.Spawn(func(tk *sched.Task) {
		for _, o := range ops {
			if err := k.Exec(tk, &o); err != nil {
				t.Errorf("setup %s: %v", o, err)
			}
		}
		mark = tk.Step()
		for _, o := range p.Tasks[0] {
			if err := k.Exec(tk, &o); err != nil {
				t.Errorf("%s: %v", o, err)
			}
		}
	})
	res := s.Run()
	if res.Verdict.Outcome != sched.OK {
		t.Fatalf("%v", res.Verdict)
	}
	var evs []sched.Event
	for _, e := range res.Trace.Events {
		if e.Step >= mark {
			evs = append(evs, e)
		}
	}
	return k, evs
}

func layout(m *kernelsim.MM) string {
	var out []string
	for _, v := range m.VMAs() {
		out = append(out, fmt.Sprintf("[%#x,%#x) pgoff %#x", v.Start(), v.End(), v.Pgoff()))
	}
	return strings.Join(out, " ")
}

// TestCopyVMA pins copy_vma's merge cases and its need_rmap_locks rule
// (mm/vma.c copy_vma(), reference C.6.c): the rmap walk visits VMAs in pgoff
// order, ties in insertion order, so a fresh destination (inserted after the
// source, pgoff >= the source's) is always visited after it and needs no
// locks, while a merged destination is an existing VMA and needs them unless
// its pgoff is strictly greater than the source's.
func TestCopyVMA(t *testing.T) {
	for _, tc := range []struct {
		name, prog string
		note       string // copy_vma's decision, as the model records it
		layout     string // mm1's VMAs after the mremap
		why        string
	}{{
		name: "merge-into-prev",
		prog: "mm mm1\nsetup: mmap mm1 0x10+8 anon rw\nsetup: store mm1 0x15 1\nsetup: mremap mm1 0x14+4 -> 0x20\nt1: mremap mm1 0x20+4 -> 0x14",
		note: "merged into vma#3 [0x10,0x18) pgoff 0x10: need_rmap_locks=true", layout: "[0x10,0x18) pgoff 0x10",
		why: "prev's pgoff 0x10 <= the source's 0x14: the destination is visited first",
	}, {
		name: "merge-into-next-equal-pgoff",
		prog: "mm mm1\nsetup: mmap mm1 0x10+8 anon rw\nsetup: store mm1 0x15 1\nsetup: mremap mm1 0x14+4 -> 0x24\nt1: mremap mm1 0x10+4 -> 0x20",
		note: "merged into vma#2 [0x20,0x28) pgoff 0x10: need_rmap_locks=true", layout: "[0x20,0x28) pgoff 0x10",
		why: "next extends down to pgoff 0x10, equal to the source's: an existing VMA, order not guaranteed, so <= takes the locks",
	}, {
		name: "merge-into-next-greater-pgoff",
		prog: "mm mm1\nsetup: mmap mm1 0x10+8 anon rw\nsetup: store mm1 0x15 1\nsetup: mremap mm1 0x16+2 -> 0x32\nt1: mremap mm1 0x14+2 -> 0x30",
		note: "merged into vma#2 [0x30,0x34) pgoff 0x14: need_rmap_locks=false", layout: "[0x10,0x14) pgoff 0x10 [0x30,0x34) pgoff 0x14",
		why: "next extends down to pgoff 0x14 > the source VMA's 0x10: it is visited after the source",
	}, {
		name: "no-merge",
		prog: "mm mm1\nsetup: mmap mm1 0x10+8 anon rw\nsetup: store mm1 0x15 1\nt1: mremap mm1 0x14+4 -> 0x30",
		note: "new vma#2 [0x30,0x34) pgoff 0x14: need_rmap_locks=false", layout: "[0x10,0x14) pgoff 0x10 [0x30,0x34) pgoff 0x14",
		why: "a fresh VMA keeps the moved pages' pgoff and is inserted after the source",
	}, {
		name: "never-faulted-source",
		prog: "mm mm1\nsetup: mmap mm1 0x10+4 anon rw\nt1: mremap mm1 0x10+4 -> 0x30",
		note: "new vma#2 [0x30,0x34) pgoff 0x30: need_rmap_locks=false", layout: "[0x30,0x34) pgoff 0x30",
		why: "no anon_vma, no pages: pgoff = addr, as for a fresh mapping",
	}, {
		name: "self-merge-forward",
		prog: "mm mm1\nsetup: mmap mm1 0x10+4 anon rw\nt1: mremap mm1 0x10+4 -> 0x14",
		note: "merged into vma#1 [0x10,0x18) pgoff 0x10: need_rmap_locks=true", layout: "[0x14,0x18) pgoff 0x14",
		why: "the never-faulted source merges with itself (pgoff = addr makes it contiguous); the old range is then unmapped",
	}, {
		name: "self-merge-backward",
		prog: "mm mm1\nsetup: mmap mm1 0x14+4 anon rw\nt1: mremap mm1 0x14+4 -> 0x10",
		note: "merged into vma#1 [0x10,0x18) pgoff 0x10: need_rmap_locks=true", layout: "[0x10,0x14) pgoff 0x10",
		why: "the source extends down over the destination; the old range is then unmapped",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			k, evs := runSeq(t, tc.prog)
			var note string
			for _, e := range evs {
				if e.Site == "copy_vma" && e.Kind == sched.KindNote {
					note = strings.TrimPrefix(strings.TrimPrefix(e.DetailText(), "new "), "")
					if strings.HasPrefix(e.DetailText(), "new ") {
						note = e.DetailText()
					}
				}
			}
			if note != tc.note {
				t.Errorf("copy_vma: %q, want %q (%s)", note, tc.note, tc.why)
			}
			if got := layout(k.MM("mm1")); got != tc.layout {
				t.Errorf("layout %q, want %q", got, tc.layout)
			}
		})
	}
}
