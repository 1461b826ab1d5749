package hunt

import (
	"testing"

	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

func TestMutantInterference(t *testing.T) {
	start := sched.Event{Task: 0, Kind: sched.KindNote, Obj: "rcu", Site: "do_anonymous_page", Detail: "mutant remove: rcu_read_lock removed"}
	end := sched.Event{Task: 0, Kind: sched.KindNote, Obj: "rcu", Detail: ksync.MutantWindowEnd}
	reader := sched.Event{Task: 0, Kind: sched.KindAcquire, Obj: "ptl pt#1", Site: "do_anonymous_page"}
	free := sched.Event{Task: 1, Kind: sched.KindRCU, Obj: "free pt#1", Site: "call_rcu"}
	other := sched.Event{Task: 1, Kind: sched.KindWrite, Obj: "pte mm1 0x30", Site: "zap"}
	sameMM := sched.Event{Task: 1, Kind: sched.KindWrite, Obj: "pmd mm1", Site: "zap"}
	for _, c := range []struct {
		name string
		evs  []sched.Event
		want bool
	}{
		{"a free of the mapped table inside the window", []sched.Event{start, free, reader, end}, true},
		{"the free before the window", []sched.Event{free, start, reader, end}, false},
		{"the free after the window", []sched.Event{start, reader, end, free}, false},
		{"another object only", []sched.Event{start, other, reader, end}, false},
		{"the same mm is not the same object", []sched.Event{start, sameMM, reader, end}, false},
		{"a window never closed lasts to the end", []sched.Event{start, reader, free}, true},
		{"no mutation, no window", []sched.Event{reader, free, end}, false},
	} {
		if got := len(MutantInterference(&sched.Trace{Events: c.evs})) > 0; got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
