package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// Mprotect mirrors do_mprotect_pkey() → mprotect_fixup(): the range must
// start inside a VMA; each VMA of the range in address order whose flags
// change is split at the range's ends, gets its new vm_flags (with
// VM_ACCOUNT adjusted as mprotect_fixup does) and its PTEs changed
// (change_protection), then is merged with neighbours it became identical
// to; a VMA whose flags do not change is left alone. A hole in the range
// ends the walk with ENOMEM, after the VMAs before it were changed.
// (Simplification: the kernel tries vma_merge_existing_range before
// splitting; the resulting layout is the same, the lock sequence around
// the merge differs.)
func (k *Kernel) Mprotect(t *sched.Task, m *MM, start, n int, prot Flags) error {
	since := k.stamp(t) // for tlb-coherence: the translations cached before this call
	end := start + n
	if n <= 0 || start < 0 || end > k.Geo.Pages() {
		return fmt.Errorf("mprotect: range %#x+%d outside the address space", start, n)
	}
	m.lock.WriteLock(t, "do_mprotect_pkey")
	defer m.lock.WriteUnlock(t, "do_mprotect_pkey")
	if v := m.findVMA(start); v == nil {
		return fmt.Errorf("mprotect: ENOMEM: %#x is not mapped", start)
	}
	if err := k.hugetlbRangeCheck(m, start, end, false, "mprotect"); err != nil {
		return err
	}
	var changed []*VMA
	var err error
	var tlb flushSpan // the mmu_gather of change_protection: what it must flush
	for tmp := start; tmp < end; {
		v := m.findVMA(tmp)
		if v == nil {
			err = fmt.Errorf("mprotect: ENOMEM: [%#x,%#x) is not fully mapped", start, end)
			break
		}
		nend := min(v.end, end)
		if nend <= tmp || v.start > tmp {
			// The tree gave a VMA that does not cover tmp: someone changed
			// the VMAs under this mprotect, which only a missing mmap_lock
			// allows (a lock mutant; never the faithful kernel). The kernel
			// would change a VMA that is not the one it looked up; the model
			// would loop forever with no scheduling point (mmrace locks hung
			// on Mprotect:mmap_lock#1@release-early).
			t.Fail(sched.Violation{Invariant: "vma-tree", Detail: fmt.Sprintf("mprotect of %s [%#x,%#x) looked up %#x and found %s, which does not cover it: the VMAs changed under mprotect", m.name, start, end, tmp, v.Describe())})
		}
		if nv := k.mprotectFixup(t, v, tmp, nend, prot, &tlb); nv != nil {
			changed = append(changed, nv)
		}
		tmp = nend
	}
	// vma_merge_existing_range with the neighbours, for the VMAs changed.
	for _, v := range changed {
		k.mergeWithNeighbours(t, v, end, "mprotect_fixup")
	}
	// tlb_finish_mmu: the PTEs change_protection changed are flushed before
	// mmap_lock is released, the range from the first to the last of them
	// (tlb_flush_pte_range gathers only the entries that need a flush:
	// x86's pte_needs_flush, a permission taken away); from here no CPU may
	// use a translation the new protection forbids. Nothing changed,
	// nothing flushed (the reason for flush_tlb_batched_pending).
	if tlb.start < tlb.end {
		k.flushTLBRange(t, m, tlb.start, tlb.end, "tlb_finish_mmu")
	}
	k.checkTLBCoherence(t, m, start, end, since, promiseBatched, tlbOp{verb: "mprotect", mm: m.name, start: start, end: end})
	return err
}

// mprotectFixup mirrors mprotect_fixup() for [start, end) of v: nothing
// when the flags stay the same; else VM_ACCOUNT as the kernel keeps it (a
// private mapping made writable is accounted; an anonymous one made
// read-only before it has an anon_vma is not), split at the ends
// (vma_modify_flags), vma_start_write, vm_flags_reset and
// change_protection. It returns the changed VMA, or nil.
func (k *Kernel) mprotectFixup(t *sched.Task, v *VMA, start, end int, prot Flags, tlb *flushSpan) *VMA {
	const site = "mprotect_fixup"
	nf := v.Flags()&^vmProtMask | prot&vmProtMask
	if nf == v.Flags() {
		return nil
	}
	switch {
	case nf&VMWrite != 0:
		if v.Flags()&(VMAccount|VMWrite|VMShared) == 0 {
			nf |= VMAccount
		}
	case v.Flags()&VMAccount != 0 && v.isAnon() && v.AnonVMA() == nil:
		nf &^= VMAccount
	}
	k.vmaModifyFlags(t, v, start, end)
	v.lock.StartWrite(t, site)
	t.Point(sched.KindWrite, v.name, "vm_flags_reset", v.Flags().String()+" -> "+nf.String())
	v.lock.AssertWriteLocked(t, "vm_flags_reset")
	if !k.Variants.Has("test-mprotect-skips-vm_flags") {
		v.setFlags(nf)
	}
	k.changeProtection(t, v, tlb)
	return v
}

// vmaModifyFlags is vma_modify_flags() for mprotect_fixup and
// madvise_update_vma: v split at start and end where it reaches beyond
// them, so that v is [start, end). The callers write-lock v themselves
// (vma_start_write before vm_flags_reset), each a lock site of its own
// for mmrace locks.
func (k *Kernel) vmaModifyFlags(t *sched.Task, v *VMA, start, end int) {
	if v.start < start {
		k.splitVMA(t, v, start, true)
	}
	if v.end > end {
		k.splitVMA(t, v, end, false)
	}
}

// changeProtection mirrors change_protection() → change_pmd_range() →
// change_pte_range(): a THP leaf goes to change_huge_pmd; under
// each table's PTL, every present PTE takes the VMA's new protection
// (pte_modify with vm_page_prot), through x86's ptep_modify_prot_start,
// which clears the entry, and ptep_modify_prot_commit, which writes the new
// one: a lockless reader (a hardware walk, a non-SYNC rmap peek) can find it
// none in between. A writable migration entry becomes a readable one
// (make_readable_(exclusive_)migration_entry), so that the PTE restored by
// remove_migration_pte is not writable in a VMA that no longer is.
func (k *Kernel) changeProtection(t *sched.Task, v *VMA, tlb *flushSpan) {
	const site = "change_pte_range"
	if v.isHugetlb() {
		k.hugetlbChangeProtection(t, v) // it flushes before dropping i_mmap
		return
	}
	m := v.mm
	g := k.Geo
	for a := v.start; a < v.end; {
		tblEnd := g.tableEnd(a, v.end)
		// change_pmd_range: a THP leaf wholly in the range changes at once
		// (change_huge_pmd), one the range cuts is split first.
		if e := m.pmdEntry(a); e != nil && e.Leaf != nil {
			if tblEnd-a != g.PTEs {
				k.splitHugePMD(t, v, a, "change_pmd_range")
			} else if k.changeHugePMD(t, v, a) {
				tlb.add(a, tblEnd) // tlb_flush_pmd_range
				a = tblEnd
				continue
			}
		}
		tbl, _ := k.pteOffsetMapLock(t, m, a, site)
		if tbl == nil {
			a = tblEnd
			continue
		}
		k.flushTLBBatchedPending(t, m, site)
		for addr := a; addr < tblEnd; addr++ {
			i := g.pteIndex(addr)
			p := tbl.e[i].Load()
			switch {
			case p == nil:
			case p.Kind == PTEPresent:
				np := *p
				np.Read, np.Write = ptePerms(v, p.Folio, p.Write)
				k.setPTE(t, m, tbl, i, addr, nil, "ptep_modify_prot_start")
				k.setPTE(t, m, tbl, i, addr, &np, "ptep_modify_prot_commit")
				if (p.Write && !np.Write) || (p.Read && !np.Read) {
					tlb.add(addr, addr+1) // pte_needs_flush: tlb_flush_pte_range
				} else {
					// The entry is back as it was, or wider: no
					// translation a TLB may hold was taken away, and
					// the kernel owes it no flush.
					k.tlbPendingDrop(t, m, addr, addr+1)
				}
			case p.Kind == PTEMigration && p.Write && !k.Variants.Has("test-mprotect-skips-migration-entries"):
				np := *p
				np.Write = false
				k.setPTE(t, m, tbl, i, addr, &np, site+": make_readable_migration_entry")
			}
		}
		k.pteUnmapUnlock(t, tbl, site)
		a = tblEnd
	}
	k.checkProtWithinVMA(t, v)
}

// ptePerms is the protection of a present PTE of f in v built from the
// VMA's vm_page_prot (mk_pte / pte_modify), with write kept when the entry
// was writable and the VMA still allows it (pte_mkwrite of a writable
// entry): a private mapping's vm_page_prot is read-only (writes go through
// COW), a shared writable file mapping's is writable.
func ptePerms(v *VMA, f *Folio, wasWritable bool) (read, write bool) {
	read = v.Flags()&(VMRead|VMWrite) != 0
	write = v.Flags()&VMWrite != 0 && (wasWritable || (v.Flags()&VMShared != 0 && f != nil && !f.anon))
	return read, write
}

// checkProtWithinVMA is the invariant pte-prot-within-vma, checked when
// change_protection has finished a VMA (mprotect still holds mmap_lock W
// and the VMA write lock): no PTE of the VMA allows more than its
// vm_flags, and no migration entry in it is writable unless the VMA is
// (remove_migration_pte would restore it writable).
func (k *Kernel) checkProtWithinVMA(t *sched.Task, v *VMA) {
	k.checked("pte-prot-within-vma")
	for a := v.start; a < v.end; a++ {
		p := v.mm.Walk(a)
		if p == nil {
			continue
		}
		bad := (p.Write && v.Flags()&VMWrite == 0) || (p.Kind == PTEPresent && p.Read && v.Flags()&(VMRead|VMWrite) == 0)
		if bad {
			t.Fail(sched.Violation{Invariant: "pte-prot-within-vma", Detail: fmt.Sprintf("after mprotect of %s (%s), %s %#x is %s: more permissive than the VMA", v.Describe(), v.Flags(), v.mm.name, a, p)})
		}
	}
}

// mergeWithNeighbours merges the changed VMA v with identical adjacent VMAs,
// as vma_merge_existing_range does when each VMA of an mprotect range is
// modified in turn: prev absorbs v, then v absorbs next, and keeps
// absorbing the VMAs of the range (< end) that were left unchanged and now
// match (the kernel merges them when it modifies the VMA before them).
func (k *Kernel) mergeWithNeighbours(t *sched.Task, v *VMA, end int, site string) {
	if v.freed || !v.lock.IsAttached() {
		return
	}
	prev, _ := v.mm.neighbours(v)
	if prev != nil && prev.end == v.start && mergeExisting(prev, v) {
		k.vmaExpandTo(t, prev, prev.start, v.end, v, nil, "vma_merge_existing_range")
		v = prev
	}
	for {
		_, next := v.mm.neighbours(v)
		if next == nil || v.end != next.start || !mergeExisting(v, next) {
			return
		}
		inside := next.start < end
		k.vmaExpandTo(t, v, v.start, next.end, next, nil, "vma_merge_existing_range")
		if !inside {
			return
		}
	}
}

// mergeExisting is is_mergeable_vma + is_mergeable_anon_vma for two adjacent
// existing VMAs a (below) and b.
func mergeExisting(a, b *VMA) bool {
	if a.Flags() != b.Flags() || a.file != b.file || a.pgoff+a.Pages() != b.pgoff || a.Flags()&VMStackIncompleteSetup != 0 {
		return false
	}
	if a.AnonVMA() == b.AnonVMA() {
		return true
	}
	if a.AnonVMA() == nil {
		return len(b.chain) <= 1
	}
	if b.AnonVMA() == nil {
		return len(a.chain) <= 1
	}
	return false
}

// flushSpan is the range an mmu_gather must flush: from the first to the
// last entry added (tlb->start, tlb->end).
type flushSpan struct{ start, end int }

func (s *flushSpan) add(start, end int) {
	if s.start >= s.end {
		s.start, s.end = start, end
		return
	}
	s.start, s.end = min(s.start, start), max(s.end, end)
}
