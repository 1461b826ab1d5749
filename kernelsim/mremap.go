package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// MremapArgs are mremap's arguments, in pages. Fixed moves [Old, Old+OldLen)
// to New (MREMAP_MAYMOVE|MREMAP_FIXED); otherwise the mapping is resized in
// place to NewLen. DontUnmap is MREMAP_DONTUNMAP (with Fixed, equal lengths).
type MremapArgs struct {
	Old, OldLen int
	New, NewLen int
	Fixed       bool
	DontUnmap   bool
}

// Mremap mirrors mm/mremap.c do_mremap() for a single VMA (reference C.6.a):
// mmap_lock W for the whole call; a fixed move unmaps the target, trims the
// source if it shrinks, then move_vma(); otherwise shrink or expand in place.
func (k *Kernel) Mremap(t *sched.Task, m *MM, a MremapArgs) error {
	const site = "do_mremap"
	pages := k.Geo.Pages()
	switch {
	case a.OldLen <= 0 || a.NewLen <= 0 || a.Old < 0 || a.Old+a.OldLen > pages || a.New < 0 || a.New+a.NewLen > pages:
		return fmt.Errorf("mremap: EINVAL: range outside the address space")
	case a.DontUnmap && (!a.Fixed || a.OldLen != a.NewLen):
		return fmt.Errorf("mremap: EINVAL: MREMAP_DONTUNMAP needs a fixed move of equal length")
	case a.Fixed && a.New < a.Old+a.OldLen && a.Old < a.New+a.NewLen:
		return fmt.Errorf("mremap: EINVAL: source and target overlap")
	}
	m.lock.WriteLock(t, site)
	defer m.lock.WriteUnlock(t, site)
	v := m.findVMA(a.Old)
	if v == nil || a.Old+a.OldLen > v.end {
		return fmt.Errorf("mremap: EFAULT: [%#x,%#x) is not inside one VMA", a.Old, a.Old+a.OldLen)
	}
	if a.DontUnmap && (v.file != nil || v.flags&VMShared != 0) {
		return fmt.Errorf("mremap: EINVAL: MREMAP_DONTUNMAP of a file mapping")
	}
	if !a.Fixed {
		return k.mremapInPlace(t, m, v, a)
	}
	// mremap_to: unmap the target, then the tail of a shrinking source.
	if len(m.overlapping(a.New, a.New+a.NewLen)) > 0 {
		k.doVMIAlignMunmap(t, m, a.New, a.New+a.NewLen, false)
	}
	if a.NewLen < a.OldLen {
		k.doVMIAlignMunmap(t, m, a.Old+a.NewLen, a.Old+a.OldLen, false)
		a.OldLen = a.NewLen
	}
	if a.NewLen > a.OldLen {
		return fmt.Errorf("mremap: a fixed move that grows is not modelled")
	}
	v = m.findVMA(a.Old)
	return k.moveVMA(t, v, a.Old, a.OldLen, a.New, a.DontUnmap)
}

// mremapInPlace shrinks (munmap of the tail) or expands (vma_merge_extend →
// vma_expand) the mapping without moving it.
func (k *Kernel) mremapInPlace(t *sched.Task, m *MM, v *VMA, a MremapArgs) error {
	switch {
	case a.NewLen < a.OldLen:
		k.doVMIAlignMunmap(t, m, a.Old+a.NewLen, a.Old+a.OldLen, false)
	case a.NewLen > a.OldLen:
		if a.Old+a.OldLen != v.end {
			return fmt.Errorf("mremap: ENOMEM: only the end of a VMA can grow in place")
		}
		end := a.Old + a.NewLen
		if end > k.Geo.Pages() || len(m.overlapping(v.end, end)) > 0 {
			return fmt.Errorf("mremap: ENOMEM: no room to grow in place")
		}
		k.vmaExpandTo(t, v, v.start, end, nil, nil, "vma_merge_extend")
	}
	return nil
}

// moveVMA mirrors move_vma() (reference C.6.b).
func (k *Kernel) moveVMA(t *sched.Task, v *VMA, old, n, newAddr int, dontUnmap bool) error {
	const site = "move_vma"
	m := v.mm
	v.lock.StartWrite(t, site)
	newPgoff := v.pgoff + (old - v.start)
	nv, src, need := k.copyVMA(t, v, newAddr, n, newPgoff)
	v = src
	// Nothing can read the destination until mmap_lock is dropped: it
	// starts as fresh memory and receives the source's pages as they move.
	k.logMem(t, MemEvent{Kind: MemZero, MM: m.name, Addr: newAddr, Len: n})
	pmc := &pagetableMove{old: v, new: nv, oldAddr: old, newAddr: newAddr, len: n, needRmapLocks: need, allocCanFail: true, site: "move_page_tables"}
	moved := k.movePageTables(t, pmc)
	if moved < n {
		// A partial move: move the prefix back and unmap the destination.
		// The source now sits after the destination, so the revert always
		// takes the rmap locks.
		rev := &pagetableMove{old: nv, new: v, oldAddr: newAddr, newAddr: old, len: moved, needRmapLocks: true, revert: true, site: "move_page_tables(revert)"}
		if k.Variants.Has("mremap-revert-skips-rmap-locks") {
			rev.needRmapLocks = need // D.2 regression: the revert reuses the forward decision
		}
		k.movePageTables(t, rev)
		k.doVMIAlignMunmap(t, m, newAddr, newAddr+n, false)
		return fmt.Errorf("mremap: ENOMEM: page-table allocation failed after %d of %d pages; moved back", moved, n)
	}
	if dontUnmap {
		// The source keeps its range; if all of it moved it loses its
		// anon_vma and gets a fresh one on the next fault.
		if old == v.start && n == v.Pages() {
			k.unlinkAnonVMAs(t, v, "move_vma(MREMAP_DONTUNMAP)")
		}
		return nil
	}
	k.doVMIAlignMunmap(t, m, old, old+n, false) // unmap_source_vma
	return nil
}

// copyVMA mirrors mm/vma.c copy_vma() (reference C.6.c): the destination
// VMA, merged with a neighbour when possible, else a fresh copy; the VMA to
// move from (a self-merge replaces it); and need_rmap_locks.
func (k *Kernel) copyVMA(t *sched.Task, v *VMA, addr, n, pgoff int) (nv, src *VMA, needRmapLocks bool) {
	const site = "copy_vma"
	m := v.mm
	faultedIn := true
	if v.isAnon() && v.anonVMA == nil {
		pgoff, faultedIn = addr, false // no pages: choose the pgoff of a fresh mapping
	}
	end := addr + n
	var prev, next *VMA
	for _, s := range *m.tree.Load() {
		if s.end == addr {
			prev = s.vma
		}
		if s.start == end {
			next = s.vma
		}
	}
	canMerge := func(o *VMA, pg int) bool {
		return o != nil && o.flags == v.flags && o.file == v.file && o.flags&VMStackIncompleteSetup == 0 &&
			o.pgoff == pg && (o.anonVMA == v.anonVMA || (v.anonVMA == nil && len(o.chain) <= 1) || (o.anonVMA == nil && len(v.chain) <= 1))
	}
	okPrev := prev != nil && canMerge(prev, pgoff-prev.Pages())
	okNext := next != nil && canMerge(next, pgoff+n)
	switch {
	case okPrev && okNext && anonCompatible(prev, next):
		k.vmaExpandTo(t, prev, prev.start, next.end, next, v, "vma_merge_new_range")
		nv = prev
	case okPrev:
		k.vmaExpandTo(t, prev, prev.start, end, nil, v, "vma_merge_new_range")
		nv = prev
	case okNext:
		k.vmaExpandTo(t, next, addr, next.end, nil, v, "vma_merge_new_range")
		nv = next
	}
	if nv != nil {
		if v.start >= nv.start && v.start < nv.end {
			// The VMA merged with itself: only possible for a never-faulted
			// anonymous source.
			if faultedIn {
				bugOn(t, "copy_vma: VM_BUG_ON_VMA(faulted_in_anon_vma): %s merged with itself although it has pages", nv.Describe())
			}
			v = nv
		}
		needRmapLocks = nv.pgoff <= v.pgoff
		if k.Variants.Has("copy_vma-merge-skips-rmap-locks") {
			needRmapLocks = false // D.2: a merged destination treated like a fresh one
		}
		t.Record(sched.KindNote, nv.name, site, fmt.Sprintf("merged into %s: need_rmap_locks=%v", nv.Describe(), needRmapLocks))
		return nv, v, needRmapLocks
	}
	// A fresh VMA: vm_area_dup, anon_vma_clone, vma_link. Its AVCs and i_mmap
	// node go after the source's (equal or greater pgoff, inserted later).
	nv = k.vmAreaDup(m, v)
	nv.start, nv.end, nv.pgoff = addr, end, pgoff
	k.anonVMAClone(t, nv, v, site)
	nv.lock.StartWrite(t, "vma_link")
	nv.lock.MarkAttached(t, "vma_link")
	m.vmaIterStore(t, nv, "vma_link")
	m.mapCount++
	if nv.file != nil {
		k.vmaLinkFile(t, nv, "vma_link")
	}
	t.Record(sched.KindNote, nv.name, site, "new "+nv.Describe()+": need_rmap_locks=false")
	return nv, v, false
}
