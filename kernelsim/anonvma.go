package kernelsim

import (
	"fmt"
	"sync/atomic"

	"mmrace/kernelsim/invnames"
	"mmrace/kernelsim/ivtree"
	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// AnonVMA is struct anon_vma. Only the root's rwsem is ever taken
// (anon_vma_lock_write/read lock root->rwsem, commit 012f18004da3).
type AnonVMA struct {
	Obj
	k             *Kernel
	root          *AnonVMA
	parent        *AnonVMA
	rwsem         *ksync.Rwsem // meaningful on the root only
	own           *ksync.Rwsem // this anon_vma's own rwsem (used only by anon_vma-lock-not-root)
	refcount      atomic.Int32
	numChildren   int
	numActiveVMAs int
	tree          ITree[*AVC]
}

// Root returns anon_vma->root.
func (a *AnonVMA) Root() *AnonVMA { return a.root }

// Parent returns anon_vma->parent.
func (a *AnonVMA) Parent() *AnonVMA { return a.parent }

// Refcount returns the reference count.
func (a *AnonVMA) Refcount() int { return int(a.refcount.Load()) }

// NumChildren returns num_children.
func (a *AnonVMA) NumChildren() int { return a.numChildren }

// NumActiveVMAs returns num_active_vmas.
func (a *AnonVMA) NumActiveVMAs() int { return a.numActiveVMAs }

// Tree returns the interval tree of AVCs.
func (a *AnonVMA) Tree() *ITree[*AVC] { return &a.tree }

// Rwsem returns the root's rwsem (the lock anon_vma_lock_* takes).
func (a *AnonVMA) Rwsem() *ksync.Rwsem { return a.root.rwsem }

// AVC is struct anon_vma_chain: one per (VMA, anon_vma) pair.
type AVC struct {
	Obj
	vma *VMA
	av  *AnonVMA
	rb  ivtree.Node[*AVC] // avc->rb in anon_vma->rb_root
}

func avcNode(c *AVC) *ivtree.Node[*AVC] { return &c.rb }

// VMA returns avc->vma.
func (c *AVC) VMA() *VMA { return c.vma }

// AnonVMA returns avc->anon_vma.
func (c *AVC) AnonVMA() *AnonVMA { return c.av }

// anonVMAAlloc is anon_vma_alloc(): a new root anon_vma, refcount 1.
func (k *Kernel) anonVMAAlloc() *AnonVMA {
	o, id := k.newObjID(kindAnonVMA)
	a := &AnonVMA{Obj: o, k: k, tree: newITree(avcNode)}
	a.refcount.Store(1)
	a.root = a
	a.rwsem = k.Env.NewRwsem(lockName(anonVMALock, id, a.name), ksync.ClassAnonVMA)
	a.own = a.rwsem
	k.mu.Lock()
	k.avs = append(k.avs, a)
	k.mu.Unlock()
	return a
}

func (k *Kernel) avcAlloc() *AVC { return &AVC{Obj: k.newObj(kindAVC)} }

// lockWrite and unlockWrite are anon_vma_lock_write/unlock_write: the root's
// rwsem (the anon_vma's own with the anon_vma-lock-not-root variant).
func (a *AnonVMA) lockWrite(t *sched.Task, site string)   { a.k.anonRwsem(a).DownWrite(t, site) }
func (a *AnonVMA) unlockWrite(t *sched.Task, site string) { a.k.anonRwsem(a).UpWrite(t, site) }

// anonVMAChainLink is anon_vma_chain_link(): the AVC joins the VMA's chain
// and the anon_vma's interval tree. Caller holds the root rwsem for write.
func (k *Kernel) anonVMAChainLink(t *sched.Task, v *VMA, avc *AVC, a *AnonVMA, site string) {
	k.anonRwsem(a).AssertHeld(t, true, site)
	k.use(t, &a.Obj, site)
	avc.vma, avc.av = v, a
	v.chain = append(v.chain, avc)
	t.PointF(sched.KindWrite, site, v.descOps(sched.Obj(a.name).Detailf("link %s for "+vmaDescFmt).S(avc.name)))
	k.anonTreeInsert(t, avc, site)
}

// anonTreeInsert and anonTreeRemove are anon_vma_interval_tree_insert and
// _remove of avc with its VMA's current key, under the anon_vma lock for
// write (reference A.2).
func (k *Kernel) anonTreeInsert(t *sched.Task, avc *AVC, site string) {
	k.anonRwsem(avc.av).AssertHeldIn(t, true, site, "the anon_vma tree is changed without its lock held for write")
	treeCorrupt(t, avc.av.tree.Contains(avc), avc.name, avc.av.name, site, "inserts", "already in")
	v := avc.vma
	treeOp(t, avc.av.name, site, func() {
		avc.av.tree.Insert(avc, v.pgoff, v.pgoff+v.Pages()-1, treeWrite[*AVC](k, t, avc.av.name, site))
	})
}

func (k *Kernel) anonTreeRemove(t *sched.Task, avc *AVC, site string) {
	k.anonRwsem(avc.av).AssertHeldIn(t, true, site, "the anon_vma tree is changed without its lock held for write")
	treeCorrupt(t, !avc.av.tree.Contains(avc), avc.name, avc.av.name, site, "removes", "not in")
	treeOp(t, avc.av.name, site, func() { avc.av.tree.Remove(avc, treeWrite[*AVC](k, t, avc.av.name, site)) })
}

// counterAdd adds delta to one of an anon_vma's counters (num_children,
// num_active_vmas) as the kernel's non-atomic ++ and -- do it: a load and a
// store, separate scheduling points, under the root's lock held for write.
func counterAdd(t *sched.Task, c *int, delta int, a *AnonVMA, what, site string) {
	n := *c
	format := "%s +%d" // %+d
	if delta < 0 {
		format = "%s %d"
	}
	t.PointF(sched.KindWrite, site, sched.Obj(a.name).Detailf(format).S(what).N(delta))
	*c = n + delta
}

// getAnonVMA and putAnonVMA are get_anon_vma()/put_anon_vma(): a root
// reference per child anon_vma; the last put frees it (and drops the
// child's reference on its root).
func getAnonVMA(a *AnonVMA) { a.refcount.Add(1) }

// tryGetAnonVMA is atomic_inc_not_zero(&anon_vma->refcount): a reference
// taken on an anon_vma found under RCU only, refused once the count has
// dropped to zero (the anon_vma is being freed).
func tryGetAnonVMA(a *AnonVMA) bool { return atomicIncNotZero(&a.refcount) }

// atomicIncNotZero is atomic_inc_not_zero(): increment c unless it is
// zero, and report whether it did.
func atomicIncNotZero(c *atomic.Int32) bool {
	for {
		n := c.Load()
		if n == 0 {
			return false
		}
		if c.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (k *Kernel) putAnonVMA(t *sched.Task, a *AnonVMA, site string) {
	if a.refcount.Add(-1) > 0 {
		return
	}
	k.releaseAnonVMA(t, a, site)
}

// releaseAnonVMA is __put_anon_vma(): free an anon_vma whose last
// reference is gone, and drop the reference it held on its root (taken by
// anon_vma_fork), freeing the root too when that was the root's last.
func (k *Kernel) releaseAnonVMA(t *sched.Task, a *AnonVMA, site string) {
	root := a.root
	// anon_vma_free: the slab is SLAB_TYPESAFE_BY_RCU, so a walker inside
	// rcu_read_lock may still look at it; it is poisoned after a grace period.
	k.Env.RCU().CallRCU(t, "free "+a.name, func() { k.free(t, &a.Obj, site) })
	if root != a {
		k.putAnonVMA(t, root, site)
	}
}

// anonVMAPrepare is __anon_vma_prepare() (mm/rmap.c): give a VMA its
// anon_vma, reusing a neighbour's when find_mergeable_anon_vma allows.
// Needs mmap_lock (at least read): it inspects neighbouring VMAs.
func (k *Kernel) anonVMAPrepare(t *sched.Task, v *VMA) {
	const site = "__anon_vma_prepare"
	v.mm.lock.AssertLocked(t, "mmap_assert_locked")
	avc := k.avcAlloc()
	a := k.findMergeableAnonVMA(t, v)
	allocated := false
	if a == nil {
		a = k.anonVMAAlloc()
		allocated = true
	}
	a.lockWrite(t, site)
	v.mm.ptlock.Lock(t, site)
	t.Point(sched.KindRead, v.name, site, "vma->anon_vma")
	if v.AnonVMA() == nil {
		t.Point(sched.KindWrite, v.name, site, "vma->anon_vma = "+a.name)
		v.setAnonVMA(a)
		k.anonVMAChainLink(t, v, avc, a, site)
		counterAdd(t, &a.numActiveVMAs, 1, a, "num_active_vmas", site)
		allocated, avc = false, nil
	}
	v.mm.ptlock.Unlock(t, site)
	a.unlockWrite(t, site)
	if allocated {
		k.putAnonVMA(t, a, site)
	}
}

// findMergeableAnonVMA is find_mergeable_anon_vma(): an adjacent VMA whose
// anon_vma can be shared (pgoff-contiguous, compatible, a single AVC).
func (k *Kernel) findMergeableAnonVMA(t *sched.Task, v *VMA) *AnonVMA {
	prev, next := v.mm.neighbours(v)
	for _, n := range []*VMA{next, prev} {
		if n == nil {
			continue
		}
		t.Point(sched.KindRead, n.name, "find_mergeable_anon_vma", "neighbour's anon_vma")
		k.useVMA(t, n, "find_mergeable_anon_vma")
		adjacent := (n.end == v.start && n.pgoff+n.Pages() == v.pgoff) || (v.end == n.start && v.pgoff+v.Pages() == n.pgoff)
		if adjacent && n.AnonVMA() != nil && len(n.chain) == 1 && n.file == v.file && n.Flags()&^vmProtMask == v.Flags()&^vmProtMask {
			return n.AnonVMA()
		}
	}
	return nil
}

// anonVMAClone is anon_vma_clone(dst, src): dst gets an AVC for every
// anon_vma of src, walking src's chain in reverse, each linked with dst's
// key (equal keys go after src's AVC). The reuse of an anon_vma with fewer
// than two children and no active VMAs is left out (a simplification: it
// changes which anon_vma a child uses, not the protocol).
func (k *Kernel) anonVMAClone(t *sched.Task, dst, src *VMA, site string) {
	if len(src.chain) > 0 {
		// lock_anon_vma_root: every anon_vma of one chain shares one root, so
		// the root is held once across the whole chain.
		lock := k.anonRwsem(src.chain[0].av)
		if src.AnonVMA() != nil {
			lock = k.anonRwsem(src.AnonVMA())
		}
		lock.DownWrite(t, site)
		for i := len(src.chain) - 1; i >= 0; i-- {
			pavc := src.chain[i]
			k.use(t, &pavc.Obj, site)
			k.anonVMAChainLink(t, dst, k.avcAlloc(), pavc.av, site)
		}
		if dst.AnonVMA() != nil {
			counterAdd(t, &dst.AnonVMA().numActiveVMAs, 1, dst.AnonVMA(), "num_active_vmas", site)
		}
		lock.UpWrite(t, site)
		return
	}
	if dst.AnonVMA() != nil {
		dst.AnonVMA().numActiveVMAs++ // no chain: an anon_vma no one else shares
	}
}

// anonVMAFork is anon_vma_fork(vma, pvma): clone the parent's chain, then
// give the child VMA its own anon_vma whose parent is the parent's.
func (k *Kernel) anonVMAFork(t *sched.Task, v, pv *VMA) {
	const site = "anon_vma_fork"
	t.Point(sched.KindRead, pv.name, site, "pvma->anon_vma")
	if pv.AnonVMA() == nil {
		v.setAnonVMA(nil)
		return
	}
	v.setAnonVMA(nil)
	// anon_vma_clone with the child's own anon_vma not yet set: no
	// num_active_vmas bump for an inherited one.
	k.anonVMAClone(t, v, pv, site)
	a := k.anonVMAAlloc()
	// anon_vma->root = pvma->anon_vma->root; anon_vma->parent =
	// pvma->anon_vma: pvma->anon_vma read again. Under mmap_lock W nothing
	// changes it; without (a lock mutant), a concurrent mremap or munmap
	// of the parent VMA may have unlinked it (unlink_anon_vmas: NULL, the
	// anon_vma freed): the kernel's oops or use-after-free.
	pav := pv.AnonVMA()
	if pav == nil {
		t.Fail(sched.Violation{Invariant: invnames.KernelOops, Detail: fmt.Sprintf("%s: NULL pointer dereference reading pvma->anon_vma->root of %s: the parent VMA lost its anon_vma during the fork", site, pv.name)})
	}
	k.use(t, &pav.Obj, site)
	a.root = pav.root
	a.parent = pav
	getAnonVMA(a.root)
	v.setAnonVMA(a)
	avc := k.avcAlloc()
	a.lockWrite(t, site)
	k.anonVMAChainLink(t, v, avc, a, site)
	counterAdd(t, &a.parent.numChildren, 1, a.parent, "num_children", site)
	counterAdd(t, &a.numActiveVMAs, 1, a, "num_active_vmas", site)
	a.unlockWrite(t, site)
}

// unlinkAnonVMAs is unlink_anon_vmas(): take the VMA's AVCs out of their
// trees and free the anon_vmas left empty. Called from free_pgtables and
// from merges that remove a VMA.
func (k *Kernel) unlinkAnonVMAs(t *sched.Task, v *VMA, site string) {
	if len(v.chain) == 0 {
		return
	}
	lock := k.anonRwsem(v.chain[0].av)
	if v.AnonVMA() != nil {
		lock = k.anonRwsem(v.AnonVMA())
	}
	lock.DownWrite(t, site)
	var empty []*AnonVMA
	for i := len(v.chain) - 1; i >= 0; i-- {
		avc := v.chain[i]
		a := avc.av
		t.Point(sched.KindWrite, a.name, site, "unlink "+avc.name+" of "+v.name)
		k.anonTreeRemove(t, avc, site)
		if a.tree.Len() == 0 {
			empty = append(empty, a)
			if a.parent != nil && a.parent != a {
				counterAdd(t, &a.parent.numChildren, -1, a.parent, "num_children", site)
			}
		}
		k.free(t, &avc.Obj, site)
	}
	if v.AnonVMA() != nil {
		counterAdd(t, &v.AnonVMA().numActiveVMAs, -1, v.AnonVMA(), "num_active_vmas", site)
	}
	lock.UpWrite(t, site)
	v.chain = nil
	v.setAnonVMA(nil)
	for _, a := range empty {
		k.putAnonVMA(t, a, site)
	}
}
