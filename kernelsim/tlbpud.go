package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// The PUD level of the paging-structure caches (the PDPTE cache, Intel SDM
// vol. 3A §4.10.3): a CPU caches the PUD entry of a walk, which points to a
// PMD table, and later walks under it go straight to that table without
// reading the PUD, until a flush of an address in its range drops it.
//
// It matters where a PMD table outlives a PUD entry that pointed to it:
// hugetlb PMD sharing. huge_pmd_unshare clears this mm's PUD entry while
// the table lives on in the other sharers' page tables; a CPU of this mm
// that still caches the entry walks the shared table, and once the last
// sharer's free_pgtables frees it, walks freed memory. That is why
// __unmap_hugepage_range, hugetlb_change_protection and
// hugetlb_unshare_pmds flush the unshared PUD range before they drop
// i_mmap_rwsem ("otherwise i_mmap_rwsem will be dropped and the last
// reference to the shared PMDs page might be dropped as well"): the last
// sharer's zap takes i_mmap_rwsem for write before it can free the table.
// A PMD table of one mm's own is freed by free_pgd_range inside an
// mmu_gather whose flush covers its range (pmd_free_tlb), which drops the
// cached entry first, as the PTE tables' pte_free_tlb does (tlbpsc.go).

// pudCacheEntry is one cached PUD entry: m's PMD table for the PUD range
// at base.
type pudCacheEntry struct {
	mm   *MM
	base int
	pmd  *PMDTable
}

// pudCacheLookupLocked returns t's cached PMD table for m's PUD range of
// addr. The caller holds k.tlb.mu.
func (k *Kernel) pudCacheLookupLocked(t *sched.Task, m *MM, addr int) (*PMDTable, bool) {
	base := addr / k.Geo.pudSpan() * k.Geo.pudSpan()
	for _, e := range k.tlb.pudc[t.ID()] {
		if e.mm == m && e.base == base {
			return e.pmd, true
		}
	}
	return nil, false
}

// pudCacheFillLocked caches the PUD entry a walk by t read: pmd for m's
// PUD range of addr. The caller holds k.tlb.mu.
func (k *Kernel) pudCacheFillLocked(t *sched.Task, m *MM, addr int, pmd *PMDTable) {
	base := addr / k.Geo.pudSpan() * k.Geo.pudSpan()
	es := k.tlb.pudc[t.ID()]
	for i, e := range es {
		if e.mm == m && e.base == base {
			es[i].pmd = pmd
			return
		}
	}
	k.tlb.pudc[t.ID()] = append(es, pudCacheEntry{mm: m, base: base, pmd: pmd})
}

// pudCacheFlushLocked drops every task's cached PUD entries of m whose
// range meets [start, end) (flush_tlb_range invalidates the
// paging-structure-cache entries of every level for the addresses it
// flushes). The caller holds k.tlb.mu.
func (k *Kernel) pudCacheFlushLocked(m *MM, start, end int) {
	span := k.Geo.pudSpan()
	for i, es := range k.tlb.pudc {
		keep := es[:0]
		for _, e := range es {
			if e.mm != m || e.base+span <= start || e.base >= end {
				keep = append(keep, e)
			}
		}
		k.tlb.pudc[i] = keep
	}
}

// pudCacheFaultedLocked drops t's cached PUD entry for m's addr: a page
// fault invalidates the paging-structure-cache entries for the faulting
// address (see pscFaulted). The caller holds k.tlb.mu.
func (k *Kernel) pudCacheFaultedLocked(t *sched.Task, m *MM, addr int) {
	base := addr / k.Geo.pudSpan() * k.Geo.pudSpan()
	es := k.tlb.pudc[t.ID()]
	keep := es[:0]
	for _, e := range es {
		if e.mm != m || e.base != base {
			keep = append(keep, e)
		}
	}
	k.tlb.pudc[t.ID()] = keep
}

// walkPMDEntryLocked is the MMU's walk down to addr's PMD entry in m: the
// PMD table from t's cached PUD entry when it holds one (cached reports
// that), else from the PUD, whose entry it caches. A cached entry into a
// freed table is a use-after-free of the walk: the kernel freed the table
// before a flush of this mm's range. The caller holds k.tlb.mu.
func (k *Kernel) walkPMDEntryLocked(t *sched.Task, m *MM, addr int) (e *PMDEntry, cached bool, freed string) {
	pmd, cached := k.pudCacheLookupLocked(t, m, addr)
	if !cached {
		if pmd = m.pmdOffset(addr); pmd == nil {
			return nil, false, ""
		}
		k.pudCacheFillLocked(t, m, addr, pmd)
	} else if pmd.freed {
		return nil, true, fmt.Sprintf("%s's MMU walks through its cached PUD entry of %s %#x (paging-structure cache) into %s, %s: the kernel freed the PMD table before a TLB flush of %s's range", t.Name(), m.name, addr, pmd.name, pmd.FreedAt(), m.name)
	}
	return pmd.e[k.Geo.pmdIndex(addr)].Load(), cached, ""
}

// pudCacheFreedMsgLocked describes a CPU that caches a PUD entry pointing to
// o, a PMD table being freed, while it has that entry's mm loaded (it may
// walk through it speculatively, see freeTable), or returns "". The caller
// holds k.tlb.mu.
func (k *Kernel) pudCacheFreedMsgLocked(o *Obj, site string) string {
	for i, es := range k.tlb.pudc {
		for _, e := range es {
			if &e.pmd.Obj == o && k.tlb.loaded[i] == e.mm {
				return fmt.Sprintf("%s's CPU, which has %s's page tables loaded, still caches the PUD entry of %s %#x (paging-structure cache) pointing to %s: its speculative walks read the table after %s frees it", sched.TaskName(i), e.mm.name, e.mm.name, e.base, o.name, site)
			}
		}
	}
	return ""
}
