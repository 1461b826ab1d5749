package invariants

import (
	"fmt"

	"mmrace/kernelsim"
	"mmrace/kernelsim/invnames"
	"mmrace/kernelsim/sched"
)

// MemoryContents replays the memory log against the program's semantics:
// private memory of an mm holds the last value stored to the address (fresh
// memory after mmap is zero), fork gives the child the parent's value at the
// moment the page was copied, a page moved by mremap or exec takes its
// contents along, shared file pages hold the last value stored
// through any shared mapping, and a private file page that was never written
// reads the file (zero where a hole was punched). Every successful load must return that value.
func MemoryContents(k *kernelsim.Kernel) []sched.Violation {
	type pkey struct {
		mm   string
		addr int
	}
	type fkey struct {
		file  string
		index int
	}
	type val struct {
		v    uint64
		step int
		task int
	}
	private := map[pkey]val{}
	shared := map[fkey]val{}
	var out []sched.Violation
	for _, e := range k.MemLog() {
		switch e.Kind {
		case kernelsim.MemStore:
			if e.Backing.Shared {
				shared[fkey{e.Backing.File, e.Backing.Index}] = val{e.Value, e.Step, e.Task}
			} else {
				private[pkey{e.MM, e.Addr}] = val{e.Value, e.Step, e.Task}
			}
		case kernelsim.MemZero:
			for a := e.Addr; a < e.Addr+e.Len; a++ {
				delete(private, pkey{e.MM, a})
			}
		case kernelsim.MemHole:
			for i := e.Backing.Index; i < e.Backing.Index+e.Len; i++ {
				delete(shared, fkey{e.Backing.File, i})
			}
		case kernelsim.MemCopy:
			if v, ok := private[pkey{e.SrcMM, e.SrcAddr}]; ok {
				private[pkey{e.MM, e.Addr}] = v
			} else {
				delete(private, pkey{e.MM, e.Addr})
			}
		case kernelsim.MemLoad:
			if !e.OK {
				continue
			}
			want, from, ok := val{}, "fresh memory (zero)", false
			if e.Backing.Shared {
				want, ok = shared[fkey{e.Backing.File, e.Backing.Index}]
			} else if want, ok = private[pkey{e.MM, e.Addr}]; !ok && e.Backing.File != "" {
				want, ok = shared[fkey{e.Backing.File, e.Backing.Index}]
			}
			if e.Value != want.v {
				if ok {
					from = fmt.Sprintf("the store by %s at step %d", sched.TaskName(want.task), want.step)
				}
				out = append(out, sched.Violation{Invariant: invnames.MemoryContents, Task: e.Task, Step: e.Step,
					Detail: fmt.Sprintf("load %s %#x returned %d, expected %d from %s", e.MM, e.Addr, e.Value, want.v, from)})
			}
		}
	}
	return out
}
