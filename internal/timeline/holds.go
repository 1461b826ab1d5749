package timeline

import (
	"strings"

	"mmrace/kernelsim/sched"
)

// hold is one lock hold, or one wait for a lock, of one task: the steps
// [Start, End] inclusive. A wait ends where the hold it waited for begins.
type hold struct {
	Task     int
	Obj      string
	Mode     string // read, write, vma read, vma write, or "" for a spinlock or folio lock
	Start    int
	End      int  // -1 while open
	Wait     bool // blocked in the acquisition, or waiting for the lock to be free
	WaitOnly bool // folio_wait_locked and the like: the wait is not followed by a hold
	Open     bool // no release was recorded: it extends to the end of the run
	From, To string
}

// failedTry is a trylock that failed: it does not start a hold.
type failedTry struct {
	Task int
	Obj  string
	Step int
	Text string
}

// pairHolds pairs each task's acquisitions (acquire, granted, successful
// trylock) with its releases of the same lock object, innermost first.
// A blocking acquisition is a wait from the acquire to the granted event,
// then a hold. Holds never released extend to last.
//
// vma_start_write records no release: the VMA stays write-locked for the
// mmap_lock write epoch, which mmap_write_unlock and mmap_write_downgrade
// end (vma_end_write_all). A task's "vma write" holds therefore end when it
// gives up its last mmap_lock write hold (a simplification: the trace does
// not say which mm a VMA belongs to).
func pairHolds(evs []sched.Event, last int) ([]hold, []failedTry) {
	type key struct {
		task int
		obj  string
	}
	var holds []hold
	var failed []failedTry
	open := map[key][]int{} // indexes into holds, innermost last
	push := func(h hold) {
		holds = append(holds, h)
		k := key{h.Task, h.Obj}
		open[k] = append(open[k], len(holds)-1)
	}
	// top returns the innermost open hold of k matching pred, or -1.
	top := func(k key, pred func(*hold) bool) int {
		s := open[k]
		for i := len(s) - 1; i >= 0; i-- {
			if pred(&holds[s[i]]) {
				return s[i]
			}
		}
		return -1
	}
	closeAt := func(i, step int, site string) {
		h := &holds[i]
		h.End, h.To = step, site
		k := key{h.Task, h.Obj}
		s := open[k]
		for j := len(s) - 1; j >= 0; j-- {
			if s[j] == i {
				open[k] = append(s[:j:j], s[j+1:]...)
				break
			}
		}
	}
	isHold := func(h *hold) bool { return !h.Wait }
	isWait := func(h *hold) bool { return h.Wait }
	// endVMAWrites closes task's vma write holds if it holds no mmap_lock
	// for write any more.
	endVMAWrites := func(task, step int, site string) {
		for k, s := range open {
			if k.task != task || !strings.HasPrefix(k.obj, "mmap_lock(") {
				continue
			}
			for _, i := range s {
				if holds[i].Mode == "write" && !holds[i].Wait {
					return
				}
			}
		}
		for i := range holds {
			if h := &holds[i]; h.Task == task && h.End < 0 && !h.Wait && h.Mode == "vma write" {
				closeAt(i, step, site)
			}
		}
	}
	for _, e := range evs {
		if e.Task < 0 {
			continue
		}
		obj, detail := e.ObjText(), e.DetailText()
		k := key{e.Task, obj}
		switch e.Kind {
		case sched.KindAcquire:
			if strings.HasPrefix(detail, "wait unlocked") {
				if !strings.Contains(detail, "was free") {
					push(hold{Task: e.Task, Obj: obj, Start: e.Step, End: -1, Wait: true, WaitOnly: true, From: e.Site})
				}
				continue
			}
			push(hold{Task: e.Task, Obj: obj, Mode: detail, Start: e.Step, End: -1, From: e.Site})
		case sched.KindBlock:
			// The acquisition just announced blocks: it is a wait until granted.
			if i := top(k, func(h *hold) bool { return true }); i >= 0 && !holds[i].Wait && holds[i].Start <= e.Step {
				holds[i].Wait = true
			}
		case sched.KindGranted:
			if i := top(k, isWait); i >= 0 {
				w := holds[i]
				closeAt(i, e.Step, e.Site)
				if !w.WaitOnly {
					push(hold{Task: e.Task, Obj: obj, Mode: w.Mode, Start: e.Step, End: -1, From: e.Site})
				}
			}
		case sched.KindTrylock:
			if strings.Contains(detail, "failed") {
				failed = append(failed, failedTry{Task: e.Task, Obj: obj, Step: e.Step, Text: e.String()})
				continue
			}
			push(hold{Task: e.Task, Obj: obj, Mode: strings.TrimSpace(strings.TrimSuffix(detail, "ok")), Start: e.Step, End: -1, From: e.Site})
		case sched.KindRelease:
			i := top(k, isHold)
			if i < 0 {
				continue // released a lock taken before the concurrent phase
			}
			mode := holds[i].Mode
			closeAt(i, e.Step, e.Site)
			if detail == "downgrade" {
				push(hold{Task: e.Task, Obj: obj, Mode: "read", Start: e.Step, End: -1, From: e.Site + " (downgrade)"})
			}
			if strings.HasPrefix(obj, "mmap_lock(") && mode == "write" {
				endVMAWrites(e.Task, e.Step, e.Site)
			}
		}
	}
	for i := range holds {
		if holds[i].End < 0 {
			holds[i].End, holds[i].Open = last, true
		}
	}
	return holds, failed
}
