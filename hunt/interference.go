package hunt

import (
	"hash/fnv"
	"strings"

	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// MutantInterference returns the hashed interference pairs of a run under
// a lock mutant: (the mutated site, the kind and site of another task's
// action) for every action of another task on an object of the mutated
// task inside the window
// the mutant opened: from the event where the mutation took effect (the
// acquisition removed, the trylock's failure ignored, the early release)
// to the note that the release it made a no-op would have been there
// (ksync.MutantWindowEnd), or to the end of the run. An object is named by
// the words of an event's object that carry a number (a table "pt#3", a
// VMA "vma5", an address "0x12", a folio "f2"), except mm names, which
// every event of an mm carries; the other task's event must write, lock,
// unlock, walk, block, or defer a free (call_rcu) or run one.
//
// "The mutation took effect" holds in almost every run of a program that
// reaches the site (a fault site: every fault); a consequence needs more:
// another task that touches what the lock protected while it is not held.
// Search keeps the inputs of runs that show a pair never seen before apart
// and draws from them first.
func MutantInterference(tr *sched.Trace) []uint32 {
	type span struct {
		task, from, to int
		objs           map[string]bool
	}
	var spans []span
	var cur []int // per task: index into spans of its open window, -1 none
	evs := tr.Events
	for i, e := range evs {
		if e.Task < 0 {
			continue
		}
		for len(cur) <= e.Task {
			cur = append(cur, -1)
		}
		if isMutantStart(e) {
			spans = append(spans, span{task: e.Task, from: i, to: len(evs), objs: map[string]bool{}})
			cur[e.Task] = len(spans) - 1
			addWords(spans[cur[e.Task]].objs, e.ObjText())
			continue
		}
		if c := cur[e.Task]; c >= 0 {
			if e.Kind == sched.KindNote && e.DetailText() == ksync.MutantWindowEnd {
				spans[c].to = i
				cur[e.Task] = -1
				continue
			}
			// The whole window's objects: the mutated task may touch an
			// object only after the other task did, which is the race.
			addWords(spans[c].objs, e.ObjText())
		}
	}
	var out []uint32
	for _, s := range spans {
		for _, e := range evs[s.from+1 : s.to] {
			if e.Task == s.task || e.Task < 0 || !foreignAction(e.Kind) {
				continue
			}
			if sharesWord(s.objs, e.ObjText()) {
				h := fnv.New32a()
				h.Write([]byte(evs[s.from].Site))
				h.Write([]byte{0, byte(e.Kind)})
				h.Write([]byte(e.Site))
				out = append(out, h.Sum32())
			}
		}
	}
	return out
}

// isMutantStart reports whether e is where a lock mutation took effect.
func isMutantStart(e sched.Event) bool {
	switch e.Kind {
	case sched.KindNote, sched.KindRelease, sched.KindRCU:
	default:
		return false
	}
	d := e.DetailText()
	if d == ksync.MutantWindowEnd {
		return false
	}
	return strings.HasPrefix(d, "mutant ") || strings.Contains(d, "(mutant release-early")
}

// foreignAction reports whether an event of another task can matter to a
// task running without a lock.
func foreignAction(k sched.Kind) bool {
	switch k {
	case sched.KindWrite, sched.KindAcquire, sched.KindTrylock, sched.KindRelease, sched.KindWalk, sched.KindBlock, sched.KindRCU, sched.KindAccess:
		return true
	}
	return false
}

// addWords adds the object words of obj to set.
func addWords(set map[string]bool, obj string) {
	for _, w := range strings.Fields(obj) {
		if objectWord(w) {
			set[w] = true
		}
	}
}

// sharesWord reports whether obj has an object word in set.
func sharesWord(set map[string]bool, obj string) bool {
	for _, w := range strings.Fields(obj) {
		if objectWord(w) && set[w] {
			return true
		}
	}
	return false
}

// objectWord reports whether w names one object: it carries a digit and
// is not an mm's name ("mm1").
func objectWord(w string) bool {
	if strings.HasPrefix(w, "mm") && strings.Trim(w[2:], "0123456789") == "" {
		return false
	}
	return strings.ContainsAny(w, "0123456789")
}
