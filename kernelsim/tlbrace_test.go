package kernelsim_test

import (
	"strings"
	"testing"

	"mmrace/harness"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
)

// TestStaleAccessInsideTheFlushWindow: a store through a translation
// cached before MADV_DONTNEED's zap, or before move_ptes moved the PTE,
// and made between the PTE change and the flush, is part of the race with
// the operation: the faithful kernel passes (the memory log puts the
// access where the race does, tlbrace.go). Each schedule was found by
// mmrace run as a memory-contents failure of the faithful kernel before
// that; the test checks that it still puts the store inside the window.
func TestStaleAccessInsideTheFlushWindow(t *testing.T) {
	for _, tc := range []struct {
		name, prog, schedule string
		change, flush        string // the PTE change and the flush that bound the window
	}{
		{"madvise", `mm mm1
setup: mmap mm1 0x10+4 anon rw
setup: store mm1 0x10 1
t1: madvise mm1 0x10+4 dontneed
t2: store mm1 0x10 2
t2: store mm1 0x10 3
t2: store mm1 0x10 4
t2: load mm1 0x10
t2: load mm1 0x10
`, "v1.ogGAAoIBSBmQ_A", "pte mm1 0x10 @zap_page_range_single", "mm1 tlb @tlb_finish_mmu"},
		{"mremap", `mm mm1
setup: mmap mm1 0x10+4 anon rw
setup: store mm1 0x10 1
t1: mremap mm1 0x10+4 -> 0x30
t2: store mm1 0x10 2
t2: store mm1 0x10 3
t2: store mm1 0x10 4
t2: load mm1 0x30
t2: load mm1 0x30
`, "v1.YoAEwgFBS0iN", "pte mm1 0x10 @move_ptes", "mm1 tlb @move_ptes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := kernelsim.Parse(tc.name, tc.prog)
			if err != nil {
				t.Fatal(err)
			}
			p.Schedule = tc.schedule
			rep := harness.Run(p, harness.Options{SemanticOnly: true, MaxSteps: 10000})
			if rep.Verdict.Outcome != sched.OK {
				t.Fatalf("the faithful kernel fails:\n%s", rep.Summary())
			}
			state := 0 // 1: after the change, 2: a stale store inside the window
			for _, e := range rep.RunTrace.Events {
				s := e.String()
				switch {
				case state == 0 && strings.Contains(s, tc.change):
					state = 1
				case state == 1 && strings.Contains(s, "via f1 (tlb)") && strings.Contains(s, "store 0x10"):
					state = 2
				case state == 1 && strings.Contains(s, tc.flush):
					state = 3
				}
			}
			if state != 2 {
				t.Fatalf("the schedule no longer stores through the stale translation between %q and %q:\n%s", tc.change, tc.flush, rep.RunTrace.String())
			}
		})
	}
}
