package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// nextHugetlb is page_vma_mapped_walk()'s hugetlb branch
// (mm/page_vma_mapped.c, v6.16): the only possible mapping of a hugetlb
// folio in a VMA is one huge entry, so a walk that handled it is over;
// otherwise hugetlb_walk() — "All callers that get here will already hold
// the i_mmap_rwsem" (Peter Xu, 2022): no lock of its own —, then
// huge_pte_lock and check_pte: the entry maps the folio (or, with
// PVMW_MIGRATION, is a migration entry for it).
func (w *pvmw) nextHugetlb() bool {
	t, m := w.t, w.v.mm
	if w.hp != nil || w.hpDone {
		return w.notFound()
	}
	hp := w.k.hugetlbWalk(t, w.v, w.addr, w.site)
	if hp == nil {
		t.Record(sched.KindWalk, w.v.Describe(), w.site, fmt.Sprintf("looks at %s %#x: no PMD table", m.name, w.addr))
		w.hpDone = true
		return false
	}
	w.addr = hp.addr
	hp.lock(t, w.site)
	w.hp = hp
	e := hp.slot.Load()
	t.Record(sched.KindWalk, w.v.Describe(), w.site, fmt.Sprintf("looks at %s huge pmd %#x: %s", m.name, w.addr, e))
	if e == nil || e.Leaf == nil || e.Leaf.PageFolio() != w.f {
		return w.notFound()
	}
	if w.migration != (e.Leaf.Kind == PTEMigration) || (!w.migration && e.Leaf.Kind != PTEPresent) {
		return w.notFound()
	}
	return true
}
