package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// hugetlbChangeProtection mirrors hugetlb_change_protection() (mm/hugetlb.c,
// v6.16) for the whole of v, from change_protection(): hugetlb VMA lock W,
// then i_mmap W; per huge page, hugetlb_walk, huge_pte_lock, and a shared
// PMD table is unshared (its mms keep the old protection; this one
// refaults through a table of its own) and the rest of its PUD range
// skipped; else a present leaf takes the new protection
// (huge_ptep_modify_prot_start clears it, huge_ptep_modify_prot_commit
// writes it: a lockless walker may find it none between; a private
// mapping's leaves all become read-only) and a writable
// migration entry becomes readable. The TLB is flushed — the whole range
// when a table was unshared — before i_mmap is dropped ("Must flush TLB
// before releasing i_mmap_rwsem").
func (k *Kernel) hugetlbChangeProtection(t *sched.Task, v *VMA) {
	const site = "hugetlb_change_protection"
	g := k.Geo
	m := v.mm
	span := g.pudSpan()
	hugetlbVMALockWrite(t, v, site)
	if v.file == nil {
		// Never in the faithful kernel (mmap_lock W keeps the VMA): with
		// a mutant that drops it, the VMA may be freed while the lock is
		// awaited and its object reused by an anonymous mapping
		// (SLAB_TYPESAFE_BY_RCU); i_mmap_lock_write(vma->vm_file->f_mapping)
		// then dereferences NULL.
		t.Fail(sched.Violation{Invariant: "kernel-oops", Detail: fmt.Sprintf("%s: %s has no vm_file (freed and reused as an anonymous VMA while the hugetlb VMA lock was awaited): NULL pointer dereference in i_mmap_lock_write", site, v.Describe())})
	}
	v.file.immap.DownWrite(t, site)
	start, end := v.start, v.end
	flushLo, flushHi := start, end
	for a := start; a < end; a += g.PTEs {
		hp := k.hugetlbWalk(t, v, a, site)
		if hp == nil {
			a = (a/span+1)*span - g.PTEs
			continue
		}
		hp.lock(t, site)
		if k.hugePMDUnshare(t, v, hp, false, site) {
			hp.unlock(t, site)
			base := a / span * span
			flushLo, flushHi = min(flushLo, base), max(flushHi, base+span)
			a = base + span - g.PTEs
			continue
		}
		e := hp.slot.Load()
		switch {
		case e == nil || e.Leaf == nil:
		case e.Leaf.Kind == PTEPresent:
			nl := *e.Leaf
			nl.Read, nl.Write = ptePerms(v, nl.Folio, e.Leaf.Write)
			if v.Flags()&VMShared == 0 {
				// huge_pte_modify with a private VMA's vm_page_prot, which is
				// never writable (PAGE_COPY): a write refaults into hugetlb_wp.
				nl.Write = false
			}
			k.setPMD(t, m, hp.pmd, hp.slot, a, nil, "huge_ptep_modify_prot_start")
			k.setPMD(t, m, hp.pmd, hp.slot, a, &PMDEntry{Leaf: &nl}, "huge_ptep_modify_prot_commit")
		case e.Leaf.Kind == PTEMigration && e.Leaf.Write:
			nl := *e.Leaf
			nl.Write = false
			k.setPMD(t, m, hp.pmd, hp.slot, a, &PMDEntry{Leaf: &nl}, site+": make_readable_migration_entry")
		}
		hp.unlock(t, site)
	}
	k.flushTLBRange(t, m, flushLo, flushHi, "flush_hugetlb_tlb_range")
	v.file.immap.UpWrite(t, site)
	hugetlbVMAUnlockWrite(t, v, site)
	k.checkProtWithinVMA(t, v)
}
