package timeline

import (
	"fmt"
	"strings"
	"testing"

	"mmrace/kernelsim/sched"
)

func TestPairHolds(t *testing.T) {
	ev := func(step, task int, kind sched.Kind, obj, detail string) sched.Event {
		return sched.Event{Step: step, Task: task, Kind: kind, Obj: obj, Site: "f", Detail: detail}
	}
	evs := []sched.Event{
		// t1 takes mmap_lock for write, write-locks a VMA, and a nested
		// child mmap_lock (as dup_mmap does); the VMA stays write-locked
		// until the last mmap_lock write hold goes.
		ev(0, 0, sched.KindAcquire, "mmap_lock(mm1)", "write"),
		ev(1, 0, sched.KindAcquire, "vma#1", "vma write"),
		ev(2, 0, sched.KindAcquire, "mmap_lock(mm2)", "write"),
		// t2: a failed trylock, a blocking acquire that is granted later,
		// a successful trylock, a wait for a folio lock to be free.
		ev(3, 1, sched.KindTrylock, "anon_vma(av#1)", "read failed"),
		ev(4, 1, sched.KindAcquire, "anon_vma(av#1)", "read"),
		ev(5, 1, sched.KindBlock, "anon_vma(av#1)", ""),
		ev(6, 0, sched.KindRelease, "mmap_lock(mm2)", "write"),
		ev(7, 0, sched.KindRelease, "mmap_lock(mm1)", "downgrade"),
		ev(8, 1, sched.KindGranted, "anon_vma(av#1)", "read"),
		ev(9, 1, sched.KindTrylock, "ptl(pt#1)", "ok"),
		ev(10, 1, sched.KindAcquire, "folio_lock(f1)", "wait unlocked: was free"),
		ev(11, 1, sched.KindAcquire, "folio_lock(f2)", "wait unlocked"),
		ev(12, 1, sched.KindBlock, "folio_lock(f2)", ""),
		ev(13, 1, sched.KindGranted, "folio_lock(f2)", "unlocked"),
		ev(14, 1, sched.KindRelease, "ptl(pt#1)", ""),
		ev(15, 0, sched.KindRelease, "mmap_lock(mm1)", "read"),
		ev(16, 1, sched.KindRelease, "i_pages(x)", ""), // never taken here: ignored
	}
	holds, failed := pairHolds(evs, 20)
	var got []string
	for _, h := range holds {
		s := fmt.Sprintf("%s %s %q %d-%d", sched.TaskName(h.Task), h.Obj, h.Mode, h.Start, h.End)
		if h.Wait {
			s += " wait"
		}
		if h.Open {
			s += " open"
		}
		got = append(got, s)
	}
	want := []string{
		`t1 mmap_lock(mm1) "write" 0-7`,
		`t1 vma#1 "vma write" 1-7`,
		`t1 mmap_lock(mm2) "write" 2-6`,
		`t2 anon_vma(av#1) "read" 4-8 wait`,
		`t1 mmap_lock(mm1) "read" 7-15`,
		`t2 anon_vma(av#1) "read" 8-20 open`,
		`t2 ptl(pt#1) "" 9-14`,
		`t2 folio_lock(f2) "" 11-13 wait`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("holds:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(failed) != 1 || failed[0].Step != 3 || failed[0].Obj != "anon_vma(av#1)" {
		t.Errorf("failed trylocks: %+v", failed)
	}
}
