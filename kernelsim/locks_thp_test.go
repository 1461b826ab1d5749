package kernelsim_test

import (
	"strings"
	"testing"

	"mmrace/harness"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
)

// thpScheduleSearches are the interleavings of the THP, PT-reclaim and
// pte_offset_map_lock files of testdata/locks (thp_*.txt, pt_reclaim.txt,
// pte_offset_map_lock.txt) that need a pinned schedule: a re-check that
// fails, a need_resched choice, a contended trylock. The wanted lines are
// lockLines with notes (the locks directive's notes=on).
var thpScheduleSearches = []struct {
	name string
	prog string
	task int
	want []string
}{
	{
		name: "pt_reclaim: need_resched drops the PTL mid-table, try_to_free_pte re-checks",
		prog: `
mm mm1
setup: mmap mm1 0x10+8 anon rw
setup: store mm1 0x10 1
setup: store mm1 0x11 2
t1: madvise mm1 0x10+8 dontneed
`,
		want: []string{"choice need_resched in zap_pte_range if 3: 3 of 4", "@try_to_free_pte"},
	},
	{
		name: "pt_reclaim: a fault refills the table while the PTL is dropped, try_to_free_pte keeps it",
		prog: `
mm mm1
setup: mmap mm1 0x10+8 anon rw
setup: store mm1 0x10 1
setup: store mm1 0x11 2
t1: madvise mm1 0x10+8 dontneed
t2: store mm1 0x10 3
`,
		want: []string{"choice need_resched in zap_pte_range if 3: 3 of 4", "not empty: mm1 0x10", "@try_to_free_pte"},
	},
	{
		name: "pt_reclaim: the PMD lock is contended (a fault installs a table in the same PMD table)",
		prog: `
mm mm1
setup: mmap mm1 0x10+16 anon rw
setup: store mm1 0x10 1
t1: madvise mm1 0x10+8 dontneed
t2: store mm1 0x18 2
`,
		want: []string{"trylock pmd_lock(pmd#1) failed @try_get_and_clear_pmd", "@try_to_free_pte"},
	},
	{
		name: "pte_offset_map_lock: the fault's table is reclaimed before it takes the PTL",
		prog: `
mm mm1
setup: mmap mm1 0x10+8 anon rw
setup: store mm1 0x10 1
t1: store mm1 0x13 4
t2: madvise mm1 0x10+8 dontneed
`,
		want: []string{"!pmd_same: pt#1 no longer maps mm1 0x13"},
	},
	{
		name: "retract_page_tables: PT reclaim freed the table after the lockless PMD read",
		prog: `
mm mm1
file file1 16
setup: mmap mm1 0x10+8 file1@0x0 shared rw thp
setup: store mm1 0x10 1
setup: madvise mm1 0x10+1 dontneed
t1: collapse mm1 0x10
t2: madvise mm1 0x10+8 dontneed
`,
		want: []string{"check_pmd_state: mm1 0x10 is none now; skip"},
	},
}

// TestFindLockSchedulesTHP searches seeded random schedules (task picks and
// data choices) for each case of thpScheduleSearches and logs the replay
// string of the first run that shows the wanted lines:
//
//	go test ./kernelsim -run TestFindLockSchedulesTHP -find-schedules -v
func TestFindLockSchedulesTHP(t *testing.T) {
	if !*findSchedules {
		t.Skip("pass -find-schedules to search")
	}
	for _, c := range thpScheduleSearches {
		t.Run(c.name, func(t *testing.T) {
			p, err := kernelsim.Parse(c.name, c.prog)
			if err != nil {
				t.Fatal(err)
			}
			for seed := uint64(1); seed <= 20000; seed++ {
				rep := harness.Run(p, harness.Options{Strategy: sched.NewRandom(seed)})
				if !rep.OK() {
					continue
				}
				run, err := runPhase(p, rep)
				if err != nil {
					t.Fatal(err)
				}
				lines := strings.Join(lockLines(run, c.task, true), "\n")
				ok := true
				for _, w := range c.want {
					ok = ok && strings.Contains(lines, w)
				}
				if ok {
					t.Logf("seed=%d: schedule=%s", seed, rep.Schedule)
					return
				}
			}
			t.Errorf("no schedule found")
		})
	}
}
