package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// The paging-structure caches (Intel SDM vol. 3A §4.10.3; the "page walk
// caches" of other architectures): besides leaf translations, a CPU caches
// the upper levels of the walks it made, here the PMD entry that points to
// a PTE table (the PDE cache). A later walk of an address under that PMD
// entry goes straight to the cached table without reading the PMD, until a
// flush of an address it covers (flush_tlb_range, flush_tlb_mm, INVLPG)
// drops it. That is why the kernel frees a page table only after a TLB
// flush of its range: pte_free_tlb / tlb_remove_table gather the table and
// free it at tlb_finish_mmu after the flush, retract_page_tables and
// collapse_huge_page flush in pmdp_collapse_flush before pte_free_defer,
// and a moved table (move_normal_pmd) is flushed at its old address.
//
// A walk through a cached entry into a table the kernel has detached reads
// that table's entries (a stale translation); into one it has freed, freed
// memory: invariant tlb-use-after-free. A CPU walks speculatively too,
// whenever it has the mm's tables loaded, also lazily, after the mm's last
// thread left it (exit) or while it runs a kernel thread: so a table must
// not be freed while such a CPU still caches an entry into it (freeTable),
// which is why x86 sends the freed_tables flush to lazy CPUs.
//
// The walk's other protections stay as user.go has them (the read section
// standing for the IPI/RCU protection of a walk in progress); what changed
// is that a PMD changed under a walk restarts it only when a flush has
// reached the walking CPU (the IPI interrupts the instruction), not
// whenever the PMD changed: the MMU does not re-read the PMD.

// pscLookupLocked returns t's cached table for m's PMD range of addr.
// The caller holds k.tlb.mu.
func (k *Kernel) pscLookupLocked(t *sched.Task, m *MM, addr int) (*PTETable, bool) {
	return k.tlb.psc.lookup(t.ID(), m, k.Geo.pmdBase(addr))
}

// pscFillLocked caches the PMD entry a walk by t read: tbl for m's PMD
// range of addr. The caller holds k.tlb.mu.
func (k *Kernel) pscFillLocked(t *sched.Task, m *MM, addr int, tbl *PTETable) {
	k.tlb.psc.fill(t.ID(), m, k.Geo.pmdBase(addr), tbl)
}

// pscFlushLocked drops every task's cached PMD and PUD entries of m whose
// range meets [start, end) (flush_tlb_range invalidates the
// paging-structure-cache entries of every level for the addresses it
// flushes). The caller holds k.tlb.mu.
func (k *Kernel) pscFlushLocked(m *MM, start, end int) {
	k.tlb.psc.flush(m, k.Geo.PTEs, start, end)
	k.tlb.pudc.flush(m, k.Geo.pudSpan(), start, end)
}

// pscFaulted drops t's cached PMD and PUD entries for m's addr: a page fault
// invalidates the paging-structure-cache entries for the faulting linear
// address (Intel SDM vol. 3A §4.10.4.1), so the access retried after the
// fault walks from the PMD again. Without it a CPU whose cached entry
// points to a table detached from the PMD (freed once the detacher's
// flush comes) would fault forever on a page its fault has mapped in the
// new table.
func (k *Kernel) pscFaulted(t *sched.Task, m *MM, addr int) {
	k.tlb.mu.Lock()
	defer k.tlb.mu.Unlock()
	k.tlb.psc.drop(t.ID(), m, k.Geo.pmdBase(addr))
	k.tlb.pudc.drop(t.ID(), m, k.Geo.pudBase(addr))
}

// pscWalkFreed reports the walk through t's cached entry into a freed
// table.
func (k *Kernel) pscWalkFreed(t *sched.Task, m *MM, addr int, tbl *PTETable, verb string) {
	t.Fail(sched.Violation{Invariant: "tlb-use-after-free", Detail: fmt.Sprintf("%s at %s %#x: %s's MMU walks through its cached PMD entry (paging-structure cache) into %s, %s: the kernel freed the page table before a TLB flush of its range", verb, m.name, addr, t.Name(), tbl.name, tbl.FreedAt())})
}

// freeTableAfterFlush frees a PTE or PMD table of m whose entry t has
// cleared: within an mmu_gather of m (pte_free_tlb, pmd_free_tlb → tlb_remove_table) at
// tlb_finish_mmu, after its flush, whose range it extends to base
// (tlb_flush_pmd_range; freed_tables); outside one (the caller has
// flushed: pte_free_defer after pmdp_collapse_flush) now. Either way after
// an RCU grace period, which keeps lockless walkers (GUP-fast,
// pte_offset_map) off it.
func (k *Kernel) freeTableAfterFlush(t *sched.Task, m *MM, o *Obj, base int, site string) {
	k.tlb.mu.Lock()
	g := k.gather[t.ID()]
	if g != nil && g.mm != m {
		g = nil // another mm's gather: not this table's flush
	}
	if g != nil {
		g.start, g.end = min(g.start, base), max(g.end, base+1)
		g.tables = append(g.tables, gatheredTable{o: o, site: site})
	}
	k.tlb.mu.Unlock()
	if g == nil {
		k.Env.RCU().CallRCU(t, "free "+o.name, func() { k.freeTable(t, m, o, site) })
	}
}

// gatheredTable is a page table an mmu_gather frees after its flush.
type gatheredTable struct {
	o    *Obj
	site string
}

// loadMM records that t's CPU runs in m (switch_mm: CR3 holds m's page
// tables). It keeps them loaded after the op, in lazy TLB mode, as a CPU
// that goes on to run a kernel thread (khugepaged, kswapd, kcompactd) does:
// only an op in another process switches them.
func (k *Kernel) loadMM(t *sched.Task, m *MM) {
	k.tlb.mu.Lock()
	k.tlb.loaded[t.ID()] = m
	k.tlb.mu.Unlock()
}

// freeTable frees o, one of m's page tables, once its flush and grace
// period are over. A CPU with m's page tables loaded, running one of m's
// threads or lazily (after exit, or in a kernel thread), may walk them
// speculatively at any time and cache what it reads (Intel SDM vol. 3A
// §4.10.3.1): if its paging-structure cache still points into the table,
// such a walk reads freed memory, and may set accessed bits in it once
// it is reused. That is why tlb_finish_mmu's flush with freed_tables
// reaches lazy CPUs too (x86 native_flush_tlb_multi). A CPU running
// another mm does not use the entry before it switches back, where the
// access itself is checked (user.go, pscWalkFreed).
func (k *Kernel) freeTable(t *sched.Task, m *MM, o *Obj, site string) {
	k.tlb.mu.Lock()
	var msg string
	for i, es := range k.tlb.psc {
		if msg != "" || k.tlb.loaded[i] != m {
			continue
		}
		for _, e := range es {
			if e.mm == m && &e.to.Obj == o {
				msg = fmt.Sprintf("%s's CPU, which has %s's page tables loaded, still caches the PMD entry of %s %#x (paging-structure cache) pointing to %s: its speculative walks read the table after %s frees it", sched.TaskName(i), m.name, m.name, e.base, o.name, site)
				break
			}
		}
	}
	if msg == "" {
		msg = k.pudCacheFreedMsgLocked(o, site)
	}
	k.tlb.mu.Unlock()
	if msg != "" {
		t.Fail(sched.Violation{Invariant: "tlb-use-after-free", Detail: msg})
	}
	k.free(t, o, site)
}
