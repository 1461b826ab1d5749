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

// walkPMDEntryLocked is the MMU's walk down to addr's PMD entry in m: the
// PMD table from t's cached PUD entry when it holds one (cached reports
// that), else from the PUD, whose entry it caches. A cached entry into a
// freed table is a use-after-free of the walk: the kernel freed the table
// before a flush of this mm's range. The caller holds k.tlb.mu.
func (k *Kernel) walkPMDEntryLocked(t *sched.Task, m *MM, addr int) (e *PMDEntry, cached bool, freed string) {
	base := k.Geo.pudBase(addr)
	pmd, cached := k.tlb.pudc.lookup(t.ID(), m, base)
	if !cached {
		if pmd = m.pmdOffset(addr); pmd == nil {
			return nil, false, ""
		}
		k.tlb.pudc.fill(t.ID(), m, base, pmd)
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
			if &e.to.Obj == o && k.tlb.loaded[i] == e.mm {
				return fmt.Sprintf("%s's CPU, which has %s's page tables loaded, still caches the PUD entry of %s %#x (paging-structure cache) pointing to %s: its speculative walks read the table after %s frees it", sched.TaskName(i), e.mm.name, e.mm.name, e.base, o.name, site)
			}
		}
	}
	return ""
}
