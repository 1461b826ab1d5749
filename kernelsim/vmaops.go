package kernelsim

import (
	"mmrace/kernelsim/sched"
)

// vmaPrepare mirrors mm/vma.c vma_prepare(): take i_mmap W (file) then the
// anon_vma root W, and take the VMAs whose keys change out of the interval
// trees (anon_vma_interval_tree_pre_update_vma, vma_interval_tree_remove).
// vmaComplete puts them back with their new keys and drops the locks.
type vmaPrepare struct {
	vmas   []*VMA // re-keyed
	remove *VMA   // leaves (merged away)
	file   *File
	av     *AnonVMA
}

func (k *Kernel) vmaPrepare(t *sched.Task, vp *vmaPrepare, site string) {
	if vp.file != nil {
		vp.file.immap.DownWrite(t, site)
	}
	if vp.av != nil {
		vp.av.lockWrite(t, site)
	}
	for _, v := range vp.vmas {
		if v.file != nil {
			v.file.remove(t, v, site) // vma_interval_tree_remove
		}
		for _, avc := range v.chain {
			k.anonTreeRemove(t, avc, site) // anon_vma_interval_tree_pre_update_vma
		}
	}
	if vp.remove != nil && vp.remove.file != nil {
		t.PointF(sched.KindWrite, site, vp.remove.descOps(sched.Obj(vp.remove.file.name).Detailf("i_mmap remove "+vmaDescFmt)))
		vp.remove.file.remove(t, vp.remove, site)
	}
}

func (k *Kernel) vmaComplete(t *sched.Task, vp *vmaPrepare, site string) {
	for _, v := range vp.vmas {
		if v.file != nil {
			v.file.insert(t, v, site) // vma_interval_tree_insert
		}
		for _, avc := range v.chain {
			k.anonTreeInsert(t, avc, site) // anon_vma_interval_tree_post_update_vma
		}
		if len(v.chain) > 0 || v.file != nil {
			t.PointF(sched.KindWrite, site, v.descOps(sched.Obj(v.name).Detailf("interval trees re-keyed: "+vmaDescFmt)))
		}
	}
	if vp.av != nil {
		vp.av.unlockWrite(t, site)
	}
	if vp.file != nil {
		vp.file.immap.UpWrite(t, site)
	}
}

func rmapOf(v *VMA) (*File, *AnonVMA) { return v.file, v.AnonVMA() }

// splitVMA mirrors __split_vma(vmi, vma, addr, new_below): the new VMA
// takes [vma->vm_start, addr) when newBelow, else [addr, vma->vm_end).
func (k *Kernel) splitVMA(t *sched.Task, v *VMA, addr int, newBelow bool) *VMA {
	const site = "__split_vma"
	m := v.mm
	m.lock.AssertWriteLocked(t, site)
	k.useVMA(t, v, site)
	early := v.isHugetlb() && k.Variants.Enabled("hugetlb_split-before-vma-lock")
	if early {
		k.hugetlbVMOpSplit(t, v, addr) // vm_ops->may_split
	}
	n := k.vmAreaDup(t, m, v)
	if newBelow {
		n.end = addr
	} else {
		n.start, n.pgoff = addr, v.pgoff+(addr-v.start)
	}
	k.anonVMAClone(t, n, v, site)
	v.lock.StartWrite(t, site)
	n.lock.StartWrite(t, site)
	f, av := rmapOf(v)
	vp := &vmaPrepare{vmas: []*VMA{v}, file: f, av: av}
	k.vmaPrepare(t, vp, "vma_prepare")
	if v.isHugetlb() && !early {
		k.hugetlbSplit(t, v, addr) // unshare the PMDs the boundary cuts
	}
	// Get rid of THPs straddling the split boundary.
	k.vmaAdjustTransHuge(t, v, v.start, addr, nil)
	if newBelow {
		k.setBounds(t, v, addr, v.end, v.pgoff+(addr-v.start), site)
	} else {
		k.setBounds(t, v, v.start, addr, v.pgoff, site)
	}
	if v.isHugetlb() {
		k.checkSplitUnshared(t, v, addr)
	}
	if n.file != nil {
		n.file.insert(t, n, "vma_complete") // the new VMA joins i_mmap
	}
	k.vmaComplete(t, vp, "vma_complete")
	m.vmaIterStore(t, v, site)
	n.lock.MarkAttached(t, site)
	m.vmaIterStore(t, n, site)
	m.mapCount++
	return n
}

// vmaExpandTo grows v to [start, end) (pgoff moved with start), absorbing
// remove when it is not nil: the merge cases of vma_merge_new_range and
// vma_merge_existing_range, through vma_prepare/vma_complete. copiedFrom is
// vmg->copied_from (copy_vma): the VMA whose pages will move in, whose
// anon_vma v must take when it has none.
func (k *Kernel) vmaExpandTo(t *sched.Task, v *VMA, start, end int, remove, copiedFrom *VMA, site string) {
	m := v.mm
	k.useVMA(t, v, site)
	v.lock.StartWrite(t, site)
	if remove != nil {
		remove.lock.StartWrite(t, site)
	}
	for _, from := range []*VMA{remove, copiedFrom} {
		if v.AnonVMA() == nil && from != nil && from.AnonVMA() != nil {
			// dup_anon_vma(): the survivor takes the other VMA's anon_vma
			// before vma_prepare.
			t.Point(sched.KindWrite, v.name, "dup_anon_vma", "vma->anon_vma = "+from.AnonVMA().name)
			v.setAnonVMA(from.AnonVMA())
			k.anonVMAClone(t, v, from, "dup_anon_vma")
		}
	}
	f, av := rmapOf(v)
	vp := &vmaPrepare{vmas: []*VMA{v}, remove: remove, file: f, av: av}
	k.vmaPrepare(t, vp, "vma_prepare")
	k.setBounds(t, v, start, end, v.pgoff-(v.start-start), site)
	k.vmaComplete(t, vp, "vma_complete")
	if remove != nil {
		remove.lock.MarkDetached(t, site)
		m.vmaIterClear(t, []*VMA{remove}, site)
		m.mapCount--
	}
	m.vmaIterStore(t, v, site)
	if remove != nil {
		k.unlinkAnonVMAs(t, remove, "anon_vma_merge")
		k.removeVMA(t, remove, site)
	}
}

// removeVMA mirrors remove_vma() → vm_area_free() (v6.15+): the detached
// VMA goes back to the SLAB_TYPESAFE_BY_RCU cache at once, without a grace
// period; newVMA may reuse it immediately.
func (k *Kernel) removeVMA(t *sched.Task, v *VMA, site string) {
	k.free(t, &v.Obj, "vm_area_free")
	v.released.Store(true) // after the poisoning: useVMA reads it first
	if t.Sched().Mode() == sched.Free {
		// Free mode reuses no VMA object: its lockless readers would read
		// the re-initialised fields (name, bounds, mm) with Go data races
		// (a torn string). Controlled mode, the search, keeps the reuse
		// and every interleaving of it.
		return
	}
	k.mu.Lock()
	k.vmaCache = append(k.vmaCache, v)
	k.mu.Unlock()
}

// mergeable reports whether a VMA with flags, file and pgoff could merge with
// neighbour n (is_mergeable_vma + is_mergeable_anon_vma): same flags and
// file, and n shares an anon_vma only if it was never forked (a single AVC).
func mergeable(n *VMA, flags Flags, file *File) bool {
	return mergeableVMA(n, flags, file) && (n.AnonVMA() == nil || len(n.chain) == 1)
}

// mergeableVMA is is_mergeable_vma alone: same flags and file, and not
// special. A hugetlb VMA is VM_DONTEXPAND (hugetlbfs_file_mmap), in
// VM_SPECIAL: it never merges.
func mergeableVMA(n *VMA, flags Flags, file *File) bool {
	return n != nil && n.Flags() == flags && n.file == file && n.Flags()&(VMStackIncompleteSetup|VMHugetlb) == 0
}

// anonCompatible is the both-neighbours condition: their anon_vmas are equal,
// or at most one has one.
func anonCompatible(a, b *VMA) bool {
	return a.AnonVMA() == nil || b.AnonVMA() == nil || a.AnonVMA() == b.AnonVMA()
}
