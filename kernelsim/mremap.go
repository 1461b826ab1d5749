package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// MremapArgs are mremap's arguments, in pages. Fixed moves [Old, Old+OldLen)
// to New (MREMAP_MAYMOVE|MREMAP_FIXED); otherwise the mapping is resized to
// NewLen, in place, or (MayMove) at a new address when it cannot grow in
// place. DontUnmap is MREMAP_DONTUNMAP (with Fixed, equal lengths).
type MremapArgs struct {
	Old, OldLen int
	New, NewLen int
	Fixed       bool
	DontUnmap   bool
	MayMove     bool // MREMAP_MAYMOVE without a target: a growth may move
}

// Mremap mirrors mm/mremap.c do_mremap() (reference C.6.a, v6.17+):
// check_mremap_params, then mmap_lock W; a fixed move of equal length goes
// through remap_move(), which may move several VMAs; otherwise the VMA at
// the address is checked (check_prep_vma) and the call goes to
// mremap_to() (a fixed target) or mremap_at() (a resize: no-op, in-place
// shrink, which drops mmap_lock itself, in-place expansion through
// vma_merge_extend, or with MREMAP_MAYMOVE a move to a new address).
func (k *Kernel) Mremap(t *sched.Task, m *MM, a MremapArgs) error {
	since := k.stamp(t) // for tlb-coherence: the translations cached before this call
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
	var err error
	if err = k.hugetlbRangeCheck(m, a.Old, a.Old+a.OldLen, true, "mremap"); err == nil {
		if a.Fixed {
			err = k.hugetlbRangeCheck(m, a.New, a.New+a.NewLen, true, "mremap")
		}
	}
	if err != nil {
		m.lock.WriteUnlock(t, site)
		return err
	}
	if a.Fixed && a.OldLen == a.NewLen { // vrm_move_only
		err = k.remapMove(t, m, a)
	} else {
		v := m.findVMA(a.Old) // vma_lookup
		switch {
		case v == nil:
			err = fmt.Errorf("mremap: EFAULT: no VMA at %#x", a.Old)
		case a.NewLen > a.OldLen || a.Fixed:
			// check_prep_vma: a call that maps new space may not reach
			// past the VMA (a shrink's unmap may: only its kept prefix is
			// checked).
			if min(a.OldLen, a.NewLen) > v.end-a.Old {
				err = fmt.Errorf("mremap: EFAULT: [%#x,%#x) is not inside one VMA", a.Old, a.Old+a.OldLen)
			}
		}
		switch {
		case err != nil:
		case a.Fixed:
			err = k.mremapTo(t, m, a)
		default:
			if k.mremapAt(t, m, v, a, &err) {
				return err // the shrink dropped mmap_lock itself
			}
		}
	}
	if err == nil {
		k.checkTLBCoherence(t, m, a.Old, a.Old+a.OldLen, since, promiseBatched, tlbOp{verb: "mremap", mm: m.name, start: a.Old, end: a.Old + a.OldLen})
	}
	m.lock.WriteUnlock(t, site)
	return err
}

// remapMove mirrors remap_move() (v6.17+, d23cb648e365 "mm/mremap: permit
// mremap() move of multiple VMAs"): every VMA in [Old, Old+OldLen) is moved
// on its own (mremap_to, split as needed), the gaps between them kept at
// the destination; a gap at the start is EFAULT. A failure part-way leaves
// the VMAs moved so far where they went. (Every model VMA may move in a
// batch: none is userfaultfd-armed or has a custom get_unmapped_area.)
func (k *Kernel) remapMove(t *sched.Task, m *MM, a MremapArgs) error {
	start, end := a.Old, a.Old+a.OldLen
	target, lastEnd := a.New, 0
	seen := false
	for cursor := start; cursor < end; {
		var v *VMA
		for _, s := range *m.tree.Load() {
			if s.end > cursor && s.start < end {
				v = s.vma
				break
			}
		}
		if v == nil {
			break
		}
		if !seen && start < v.start {
			return fmt.Errorf("mremap: EFAULT: no VMA at %#x", start)
		}
		offset := 0
		if seen {
			offset = v.start - lastEnd
		}
		lastEnd = v.end
		addr := max(v.start, start)
		n := min(end, v.end) - addr
		part := MremapArgs{Old: addr, OldLen: n, New: target + offset, NewLen: n, Fixed: true, DontUnmap: a.DontUnmap}
		if err := k.mremapTo(t, m, part); err != nil {
			return err
		}
		seen = true
		target = part.New + n
		cursor = addr + n
	}
	if !seen {
		return fmt.Errorf("mremap: EFAULT: no VMA at %#x", start)
	}
	return nil
}

// mremapTo mirrors mremap_to(): unmap the target, look the source up again
// (the unmap may have split it), unmap the tail of a shrinking source (both
// keeping mmap_lock W), then move_vma() into a destination of the new
// length.
func (k *Kernel) mremapTo(t *sched.Task, m *MM, a MremapArgs) error {
	if len(m.overlapping(a.New, a.New+a.NewLen)) > 0 {
		k.doVMIAlignMunmap(t, m, a.New, a.New+a.NewLen, false)
	}
	if m.findVMA(a.Old) == nil {
		return fmt.Errorf("mremap: EFAULT: no VMA at %#x", a.Old)
	}
	if a.NewLen < a.OldLen {
		k.doVMIAlignMunmap(t, m, a.Old+a.NewLen, a.Old+a.OldLen, false)
		a.OldLen = a.NewLen
	}
	return k.moveVMA(t, m.findVMA(a.Old), a.Old, a.OldLen, a.New, a.NewLen, a.DontUnmap)
}

// mremapAt mirrors mremap_at() for a resize without a target. It reports
// whether it returned with mmap_lock already released: shrink_vma(vrm,
// drop_lock=true) unmaps the tail with do_vmi_munmap(unlock=true), which
// downgrades to R for the zap and unlocks (or just unlocks when nothing is
// mapped there). A resize to the same size does nothing.
func (k *Kernel) mremapAt(t *sched.Task, m *MM, v *VMA, a MremapArgs, err *error) (unlocked bool) {
	switch {
	case a.NewLen < a.OldLen:
		if len(m.overlapping(a.Old+a.NewLen, a.Old+a.OldLen)) == 0 {
			m.lock.WriteUnlock(t, "do_vmi_munmap")
			return true
		}
		k.doVMIAlignMunmap(t, m, a.Old+a.NewLen, a.Old+a.OldLen, true)
		m.lock.ReadUnlock(t, "do_vmi_munmap")
		return true
	case a.NewLen > a.OldLen:
		*err = k.expandVMA(t, m, v, a)
	}
	return false
}

// expandVMA mirrors expand_vma(): grow in place when [addr, old_len) ends
// at vm_end and the pages after it are free (vma_expandable), through
// vma_merge_extend(); else, with MREMAP_MAYMOVE, move the mapping to a
// free range of the new length (get_unmapped_area, top-down) and grow it.
func (k *Kernel) expandVMA(t *sched.Task, m *MM, v *VMA, a MremapArgs) error {
	end := a.Old + a.NewLen
	if a.Old+a.OldLen == v.end && end <= k.Geo.Pages() && len(m.overlapping(v.end, end)) == 0 {
		// The pages the VMA grows over are fresh memory, whatever an
		// earlier mapping there held (the memory log's MemZero, as for a
		// new mapping: without it a load there was held to the value a
		// mapping unmapped before had).
		k.logMem(t, MemEvent{Kind: MemZero, MM: m.name, Addr: v.end, Len: end - v.end})
		k.vmaMergeExtend(t, v, end)
		return nil
	}
	if !a.MayMove {
		return fmt.Errorf("mremap: ENOMEM: the mapping cannot grow in place")
	}
	dst, ok := m.getUnmappedArea(a.NewLen)
	if !ok {
		return fmt.Errorf("mremap: ENOMEM: no free range of %d pages", a.NewLen)
	}
	return k.moveVMA(t, v, a.Old, a.OldLen, dst, a.NewLen, false)
}

// vmaMergeExtend mirrors mm/vma.c vma_merge_extend(): vma_merge_new_range()
// for [vm_end, end) with v as prev and the next VMA as next, so v absorbs
// the next VMA when it becomes adjacent and compatible (mremap_test.c
// mremap_expand_merge expects one mapping). Unlike a new mapping's merge,
// the range brings v's own anon_vma (VMG_VMA_STATE sets vmg.anon_vma), and
// is_mergeable_anon_vma() lets equal anon_vmas merge whatever next's chain:
// the split VMAs of a forked child share one anon_vma with an AVC per
// ancestor, and merge (the host's kernel does; the oracle found it).
func (k *Kernel) vmaMergeExtend(t *sched.Task, v *VMA, end int) {
	_, next := v.mm.neighbours(v)
	sameAnonVMA := next != nil && v.AnonVMA() != nil && next.AnonVMA() == v.AnonVMA()
	if next != nil && next.start == end && next.pgoff == v.pgoff+(end-v.start) &&
		(mergeable(next, v.Flags(), v.file) && anonCompatible(v, next) || sameAnonVMA && mergeableVMA(next, v.Flags(), v.file)) {
		k.vmaExpandTo(t, v, v.start, next.end, next, nil, "vma_merge_extend")
		return
	}
	k.vmaExpandTo(t, v, v.start, end, nil, nil, "vma_merge_extend")
}

// getUnmappedArea is the top-down get_unmapped_area() of the model: the
// highest free range of n pages.
func (m *MM) getUnmappedArea(n int) (int, bool) {
	top := m.k.Geo.Pages()
	slots := *m.tree.Load()
	for i := len(slots) - 1; i >= -1; i-- {
		lo := 0
		if i >= 0 {
			lo = slots[i].end
		}
		if top-lo >= n {
			return top - n, true
		}
		if i >= 0 {
			top = slots[i].start
		}
	}
	return 0, false
}

// moveVMA mirrors move_vma() (reference C.6.b): the destination VMA of
// newLen pages (copy_vma), the n pages of the source moved into it, the
// source range unmapped.
func (k *Kernel) moveVMA(t *sched.Task, v *VMA, old, n, newAddr, newLen int, dontUnmap bool) error {
	const site = "move_vma"
	m := v.mm
	v.lock.StartWrite(t, site)
	newPgoff := v.pgoff + (old - v.start)
	nv, src, need := k.copyVMA(t, v, newAddr, newLen, newPgoff)
	v = src
	// Nothing can read the destination until mmap_lock is dropped: it
	// starts as fresh memory and receives the source's pages as they move.
	k.logMem(t, MemEvent{Kind: MemZero, MM: m.name, Addr: newAddr, Len: newLen})
	pmc := &pagetableMove{old: v, new: nv, oldAddr: old, newAddr: newAddr, len: n, needRmapLocks: need, allocCanFail: true, site: "move_page_tables"}
	moved := k.movePageTables(t, pmc)
	if moved < n {
		// A partial move: move the prefix back and unmap the destination.
		// The source now sits after the destination, so the revert always
		// takes the rmap locks.
		rev := &pagetableMove{old: nv, new: v, oldAddr: newAddr, newAddr: old, len: moved, needRmapLocks: true, revert: true, site: "move_page_tables(revert)"}
		if !need && k.Variants.Has("mremap-revert-skips-rmap-locks") {
			rev.needRmapLocks = need // D.2 regression: the revert reuses the forward decision
		}
		k.movePageTables(t, rev)
		k.doVMIAlignMunmap(t, m, newAddr, newAddr+newLen, false)
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
	if v.isAnon() && v.AnonVMA() == nil {
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
		return o != nil && o.Flags() == v.Flags() && o.file == v.file && o.Flags()&VMStackIncompleteSetup == 0 &&
			o.pgoff == pg && (o.AnonVMA() == v.AnonVMA() || (v.AnonVMA() == nil && len(o.chain) <= 1) || (o.AnonVMA() == nil && len(v.chain) <= 1))
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
		if needRmapLocks && k.Variants.Has("copy_vma-merge-skips-rmap-locks") {
			needRmapLocks = false // D.2: a merged destination treated like a fresh one
		}
		t.Record(sched.KindNote, nv.name, site, fmt.Sprintf("merged into %s: need_rmap_locks=%v", nv.Describe(), needRmapLocks))
		return nv, v, needRmapLocks
	}
	// A fresh VMA: vm_area_dup, anon_vma_clone, vma_link. Its AVCs and i_mmap
	// node go after the source's (equal or greater pgoff, inserted later).
	nv = k.vmAreaDup(t, m, v)
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
