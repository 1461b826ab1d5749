package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// maxFaultRetries bounds how often one access re-faults before the model
// calls it a livelock (the step limit would end it anyway).
const maxFaultRetries = 64

// Load is a user load at addr: the hardware walks the page tables locklessly
// (inside an RCU read section, which stands for the IPI/RCU protection
// GUP-fast relies on); on a miss it faults and retries. ok is false when the
// access raised SIGSEGV.
func (k *Kernel) Load(t *sched.Task, m *MM, addr int) (val uint64, ok bool) {
	v, ok := k.access(t, m, addr, false, 0)
	return v, ok
}

// Store is a user store of val at addr.
func (k *Kernel) Store(t *sched.Task, m *MM, addr int, val uint64) bool {
	_, ok := k.access(t, m, addr, true, val)
	return ok
}

func (k *Kernel) access(t *sched.Task, m *MM, addr int, write bool, val uint64) (uint64, bool) {
	rcu := k.Env.RCU()
	verb := "load"
	if write {
		verb = "store"
	}
	for try := 0; try < maxFaultRetries; try++ {
		rcu.ReadLock(t, "user "+verb)
		// The hardware walk: the upper levels, then (a separate access, a
		// scheduling point) the PTE, read together with the page it maps
		// as one step (the model has no TLB). The read section keeps the
		// table walked from being freed under the walk. A table moved or
		// cleared from its PMD meanwhile makes the access start again, as
		// the instruction does once the TLB flush's IPI has run: so an
		// access is linearized at its PTE read.
		var p *PTE
		if tbl := m.pteTable(addr); tbl != nil {
			t.Point(sched.KindRead, fmt.Sprintf("pte %s %#x", m.name, addr), "user "+verb, "hardware walk: pte")
			k.use(t, &tbl.Obj, "user "+verb)
			if m.pteTable(addr) != tbl {
				rcu.ReadUnlock(t, "user "+verb)
				continue
			}
			p = tbl.e[k.Geo.pteIndex(addr)].Load()
		}
		if p != nil && p.Kind == PTEPresent && ((write && p.Write) || (!write && p.Read)) {
			var got uint64
			where := "zero-page"
			if p.Folio != nil {
				k.use(t, &p.Folio.Obj, "user "+verb)
				where = p.Folio.name
				if write {
					p.Folio.data.Store(val)
					k.logMem(t, MemEvent{Kind: MemStore, MM: m.name, Addr: addr, Value: val, OK: true, Backing: folioBacking(p.Folio)})
				} else {
					got = p.Folio.data.Load()
				}
			}
			if !write {
				k.logMem(t, MemEvent{Kind: MemLoad, MM: m.name, Addr: addr, Value: got, OK: true, Backing: folioBacking(p.Folio)})
			}
			rcu.ReadUnlock(t, "user "+verb)
			if write {
				t.Amend(fmt.Sprintf("%s %#x = %d via %s", verb, addr, val, where))
			} else {
				t.Amend(fmt.Sprintf("%s %#x -> %d via %s", verb, addr, got, where))
			}
			return got, true
		}
		rcu.ReadUnlock(t, "user "+verb)
		if k.Fault(t, m, addr, write) == FaultSEGV {
			if !write {
				k.logMem(t, MemEvent{Kind: MemLoad, MM: m.name, Addr: addr})
			}
			return 0, false
		}
	}
	t.Fail(sched.Violation{Invariant: "livelock", Detail: fmt.Sprintf("%s at %s %#x faulted %d times without making progress", verb, m.name, addr, maxFaultRetries)})
	return 0, false
}
