package kernelsim

import (
	"fmt"
	"math"

	"mmrace/kernelsim/sched"
)

// maxFaultRetries bounds how often one access re-faults before the model
// calls it a livelock (the step limit would end it anyway).
const maxFaultRetries = 64

// Load is a user load at addr: the hardware walks the page tables locklessly
// (no lock and no RCU read section: a CPU in user mode is in a quiescent
// state, and what keeps its walks out of freed tables is the TLB flush
// before the free, tlbpsc.go); on a miss it faults and retries. ok is false
// when the access raised SIGSEGV.
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
	verb, site := "load", "user load"
	if write {
		verb, site = "store", "user store"
	}
	// The access's scheduling points: the instruction issued (its TLB
	// lookup), and its end: it retires, restarts (a flush reached the
	// walk) or raises a page fault. Between them, the walk's PTE read.
	for try := 0; try < maxFaultRetries; try++ {
		t.PointF(sched.KindAccess, site, sched.Objf("%s tlb").S(m.name).Detailf("tlb lookup %#x").N(addr))
		a, restart := k.accessTry(t, m, addr, write, val, verb, site)
		if restart {
			t.PointF(sched.KindAccess, site, sched.Objf("%s tlb").S(m.name).Detailf("a flush reached the walk of %#x: the access starts again").N(addr))
			continue
		}
		if a.via != "" {
			t.PointF(sched.KindAccess, site, sched.Objf("%s %#x").S(m.name).N(addr).Detail("retires")) // amended with what it did
			k.amendAccess(t, write, addr, val, a.got, a.f, a.pg, a.where, a.via == " (tlb)")
			return a.got, true
		}
		t.PointF(sched.KindAccess, site, sched.Objf("%s tlb").S(m.name).Detailf("no translation for %#x: page fault").N(addr))
		k.pscFaulted(t, m, addr)
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

// accessTry is one attempt of an access: the TLB lookup, else the walk
// (which fills the TLB), then the data access. restart says a flush reached
// the walk between its PMD and PTE reads; an attempt without a translation
// (via "") faults. In free mode the attempt holds tlb.inflight for reading:
// a flush waits for it, as the flush's IPI waits for the instruction to end.
func (k *Kernel) accessTry(t *sched.Task, m *MM, addr int, write bool, val uint64, verb, site string) (a accessResult, restart bool) {
	if t.Sched().Mode() == sched.Free {
		k.tlb.inflight.RLock()
		defer k.tlb.inflight.RUnlock()
	}
	// The CPU uses its cached translation when it has one that allows
	// the access (a store needs one filled by a store); else it walks
	// the page tables and caches what it found: the upper levels, then
	// (a separate access, a scheduling point) the PTE, read together
	// with the page it maps as one step. A flush of the address
	// between the two makes the access start again, as the
	// instruction does once the TLB flush's IPI has run; page tables
	// are freed only after a flush of their range (tlbpsc.go), so the
	// walk never reads a freed one unless a flush is missing. Nothing
	// else protects it: the walk is no RCU reader (a CPU in user mode
	// is quiescent, so a grace period, pte_free_defer's, may end in the
	// middle of its walk; a read section here hid a missing flush
	// before a deferred free). A PMD leaf is the walk's last level.
	a.since = -1
	if e, ok := k.tlbLookup(t, m, addr, write); ok {
		a.f, a.pg, a.via, a.since = e.folio, e.page, " (tlb)", e.memAt
		if a.f != nil {
			// The translation holds a pfn: after a split the page
			// belongs to a folio of its own (only a stale translation,
			// which a lock or flush mutant can leave, still names it
			// by the old folio).
			a.f, a.pg = a.f.pageFolio(a.pg)
		}
		if a.f != nil && a.f.freed {
			t.Fail(sched.Violation{Invariant: "tlb-use-after-free", Detail: fmt.Sprintf("%s at %s %#x goes through %s's TLB entry to %s (%s), %s: the kernel freed the page before flushing the translation", verb, m.name, addr, t.Name(), a.f.name, k.cachedAt(e), a.f.FreedAt())})
		}
		if msg := k.breakBeforeMakeBroken(t, m, addr, e, write, verb); msg != "" {
			k.checked("tlb-coherence")
			t.Fail(sched.Violation{Invariant: "tlb-coherence", Detail: msg})
		}
	} else {
		// The entry read and the TLB fill are one step of the MMU: a
		// flush (which runs on this CPU, by IPI, between instructions)
		// comes before the read or after the fill, never in between.
		// In controlled mode no scheduling point separates them; in
		// free mode tlbMu orders them against flushTLBRangeNow.
		//
		// The PMD entry comes from the CPU's paging-structure cache
		// when it holds one for addr (tlbpsc.go), else from the PMD,
		// and is cached. Between it and the PTE (a scheduling point)
		// the PMD may change: the walk goes on with the table it has
		// unless a flush of addr has reached this CPU meanwhile (the
		// IPI: the instruction starts again), as the MMU does.
		var p *PTE
		k.tlb.mu.Lock()
		tbl, cached := k.pscLookupLocked(t, m, addr)
		a.psc = cached
		if !cached {
			e, viaPUD, freed := k.walkPMDEntryLocked(t, m, addr)
			if freed != "" {
				k.tlb.mu.Unlock()
				t.Fail(sched.Violation{Invariant: "tlb-use-after-free", Detail: verb + ": " + freed})
				return a, false
			}
			a.psc = viaPUD
			switch {
			case e != nil && e.Leaf != nil:
				if !e.Invalid { // an invalidated leaf faults
					p = e.Leaf.pageOf(addr - k.Geo.pmdBase(addr))
				}
			case e != nil:
				tbl = e.Table
				k.pscFillLocked(t, m, addr, tbl)
			}
		}
		if tbl != nil {
			k.tlb.mu.Unlock()
			t.PointF(sched.KindRead, site, sched.Objf("pte %s %#x").S(m.name).N(addr).Detail("hardware walk: pte"))
			k.tlb.mu.Lock()
			if now, ok := k.pscLookupLocked(t, m, addr); !ok || now != tbl {
				k.tlb.mu.Unlock()
				return a, true // flushed meanwhile: the access starts again
			}
			if tbl.freed {
				k.tlb.mu.Unlock()
				k.pscWalkFreed(t, m, addr, tbl, verb)
			}
			p = tbl.e[k.Geo.pteIndex(addr)].Load()
			if m.pteTable(addr) != tbl {
				// The PMD changed after this walk read it (a table
				// detached, whose flush has not reached this CPU): the
				// walk reads the old table, as one through a cached PMD
				// entry does, and the memory log places the access so.
				a.psc = true
			}
		}
		if p != nil && p.Kind == PTEPresent && ((write && p.Write) || (!write && p.Read)) {
			a.f, a.pg, a.via = p.Folio, p.Page, " "
			k.tlbFillLocked(t, m, addr, a.f, a.pg, write)
			k.noteFreshWalkLocked(t, m, addr, a.f, write, verb) // tlbbbm.go
			if a.f != nil {
				a.f, a.pg = a.f.pageFolio(a.pg) // the pfn's folio (see the TLB hit above)
			}
		}
		k.tlb.mu.Unlock()
		if a.f != nil {
			k.use(t, &a.f.Obj, site)
		}
		if a.via != "" {
			t.Window(sched.WindowFill) // a translation that may go stale (sched.Windower)
		}
	}
	if a.via != "" {
		f, pg := a.f, a.pg
		a.where = accessZeroPage // the page: zero-page, f3 or f3[2]
		if f != nil {
			a.where = accessFolio
			if f.Large() {
				a.where = accessFolioPage
			}
			if write {
				f.page(pg).Store(val)
				if a.via == " (tlb)" {
					k.noteTLBStore(m, f, pg, val) // wp_page_copy's deferred lost-store compare (flushmutant.go)
				}
				k.logUserMem(t, a.via == " (tlb)" || a.psc, a.since, m, addr, f, pg, MemEvent{Kind: MemStore, MM: m.name, Addr: addr, Value: val, OK: true, Backing: folioBacking(f, pg)})
			} else {
				a.got = f.page(pg).Load()
			}
		}
		if !write {
			k.logUserMem(t, a.via == " (tlb)" || a.psc, a.since, m, addr, f, pg, MemEvent{Kind: MemLoad, MM: m.name, Addr: addr, Value: a.got, OK: true, Backing: folioBacking(f, pg)})
		}
	}
	return a, false
}

// accessResult is what an attempt of an access reached and did.
type accessResult struct {
	f     *Folio
	pg    int
	via   string // "" no translation, " (tlb)" a TLB hit, " " a walk
	where int    // accessZeroPage, accessFolio or accessFolioPage
	got   uint64 // a load's value
	// since is the memory log's length when the TLB entry a hit used was
	// filled (-1 for a walk): logUserMem places a stale access by it.
	since int
	// psc says the walk went through the CPU's cached PMD entry: like a
	// TLB hit, it may reach a table the PMD no longer points to (moved
	// by mremap, until the flush), and the memory log places the access
	// as logUserMem places one through a stale translation.
	psc bool
}

// The pages an access reaches, as its amended detail names them.
const (
	accessZeroPage  = iota // zero-page
	accessFolio            // f3
	accessFolioPage        // f3[2]: a page of a large folio
)

// accessFormats are the formats of an access's amended detail, by write,
// the page's form and whether the translation came from the TLB.
var accessFormats = func() (f [2][3][2]string) {
	for w, head := range [2]string{"load %#x -> %d via ", "store %#x = %d via "} {
		for p, page := range [3]string{"zero-page", "%s", "%s[%d]"} {
			f[w][p] = [2]string{head + page, head + page + " (tlb)"}
		}
	}
	return f
}()

// amendAccess amends the access's event with its outcome: "store 0x15 = 7
// via f3[2] (tlb)", "load 0x15 -> 7 via zero-page".
func (k *Kernel) amendAccess(t *sched.Task, write bool, addr int, val, got uint64, f *Folio, pg, where int, tlb bool) {
	w, v := 0, got
	if write {
		w, v = 1, val
	}
	if v > math.MaxInt64 { // beyond what a Text's integer holds
		verb, op, page, via := "load", "->", "zero-page", ""
		if write {
			verb, op = "store", "="
		}
		switch where {
		case accessFolio:
			page = f.name
		case accessFolioPage:
			page = fmt.Sprintf("%s[%d]", f.name, pg)
		}
		if tlb {
			via = " (tlb)"
		}
		t.Amend(fmt.Sprintf("%s %#x %s %d via %s%s", verb, addr, op, v, page, via))
		return
	}
	tl := 0
	if tlb {
		tl = 1
	}
	x := sched.Detailf(accessFormats[w][where][tl]).N(addr).N(int(v))
	switch where {
	case accessFolio:
		x.S(f.name)
	case accessFolioPage:
		x.S(f.name).N(pg)
	}
	t.AmendF(x)
}
