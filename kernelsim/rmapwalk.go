package kernelsim

import (
	"mmrace/kernelsim/ivtree"
	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// rmapWalkControl is struct rmap_walk_control.
type rmapWalkControl struct {
	kind       string
	rmapOne    func(t *sched.Task, v *VMA, addr int, w *Walk) bool // false stops the walk
	done       func() bool
	invalidVMA func(v *VMA) bool
	tryLock    bool // give up instead of sleeping on a contended rmap lock (reclaim)
	pinnedAV   bool // the caller pinned the anon_vma (remove_migration_ptes): rmap_walk_anon_lock
	target     func(*PTE) bool
	contended  bool
	nonSync    bool // rmap_one peeks without the PTL (page_vma_mapped_walk without PVMW_SYNC)
	locked     bool // the caller holds the rmap lock (rmap_walk_locked: TTU_RMAP_LOCKED, RMP_LOCKED)
	// mayMiss, when not nil, names the VMAs the walk visits but in which
	// its caller tolerates a miss (try_to_unmap in exec's temporary stack).
	mayMiss func(v *VMA) bool
}

// anonRwsem is the lock anon_vma_lock_* take: the root's (012f18004da3), or
// with anon_vma-lock-not-root the anon_vma's own, as before that commit.
func (k *Kernel) anonRwsem(a *AnonVMA) *ksync.Rwsem {
	if a.root != a && a.own != nil && k.Variants.Has("anon_vma-lock-not-root") {
		return a.own
	}
	return a.root.rwsem
}

// rmapWalk mirrors rmap_walk() → rmap_walk_anon() / rmap_walk_file(): hold
// the rmap lock (R) across the whole walk, visit the VMAs of the folio's
// interval tree in order — a scheduling point between VMAs — and call
// rmapOne for each, which takes and drops the PTL (page_vma_mapped_walk).
func (k *Kernel) rmapWalk(t *sched.Task, f *Folio, rwc *rmapWalkControl) {
	w := &Walk{Kind: rwc.kind, Folio: f, Target: rwc.target, StartStep: t.Step(), NonSync: rwc.nonSync}
	var lock *ksync.Rwsem
	var tree walkIter
	var name string
	switch {
	case rwc.locked && f.anon:
		// rmap_walk_locked → rmap_walk_anon(folio, rwc, true): the caller
		// (a folio split) holds the anon_vma lock for write.
		a := f.anonVMA
		k.use(t, &a.Obj, rwc.kind)
		name = a.name
		k.anonRwsem(a).AssertHeldIn(t, true, rwc.kind, "rmap_walk_locked without the anon_vma lock")
		tree = &anonIter{k: k, a: a, first: f.index, last: f.index + f.Nr() - 1, site: rwc.kind}
	case rwc.locked:
		name = f.file.name
		f.file.immap.AssertHeldIn(t, false, rwc.kind, "rmap_walk_locked without i_mmap_rwsem")
		tree = &fileIter{k: k, f: f.file, first: f.index, last: f.index + f.Nr() - 1, site: rwc.kind}
	case f.anon:
		// folio_lock_anon_vma_read (rmap_walk_anon_lock when the caller pinned
		// the anon_vma): under RCU, no walk if the folio is not mapped; trylock
		// the root; on contention give up (reclaim) or take a reference and
		// sleep; after locking, re-check that the folio is still mapped.
		rcu := k.Env.RCU()
		rcu.ReadLock(t, folioLockAnonVMARead(rwc))
		a := f.anonVMA
		if a == nil || (!rwc.pinnedAV && f.mapcount.Load() == 0) {
			rcu.ReadUnlock(t, folioLockAnonVMARead(rwc))
			return
		}
		k.use(t, &a.Obj, rwc.kind)
		name = a.name
		if !k.Variants.Has("rmap_walk_anon-no-anon_vma-lock") {
			lock = k.anonRwsem(a)
			if !lock.DownReadTrylock(t, folioLockAnonVMARead(rwc)) {
				if rwc.tryLock {
					rcu.ReadUnlock(t, folioLockAnonVMARead(rwc))
					rwc.contended = true
					return
				}
				if !tryGetAnonVMA(a) { // the anon_vma is being freed: no walk
					rcu.ReadUnlock(t, folioLockAnonVMARead(rwc))
					return
				}
				rcu.ReadUnlock(t, folioLockAnonVMARead(rwc))
				lock.DownRead(t, folioLockAnonVMARead(rwc))
				if a.refcount.Add(-1) == 0 {
					// "Oops, we held the last refcount": unlock, then
					// __put_anon_vma, which also drops the reference
					// on the root (it freed a child anon_vma without
					// it, and the root leaked).
					lock.UpRead(t, folioLockAnonVMARead(rwc))
					k.releaseAnonVMA(t, a, "__put_anon_vma")
					return
				}
			} else {
				// The trylock took root->rwsem of an anon_vma found through
				// folio->mapping: memory the read section keeps valid.
				k.use(t, &a.Obj, folioLockAnonVMARead(rwc))
				rcu.ReadUnlock(t, folioLockAnonVMARead(rwc))
			}
		} else {
			rcu.ReadUnlock(t, folioLockAnonVMARead(rwc))
		}
		if !rwc.pinnedAV && f.mapcount.Load() == 0 {
			if lock != nil {
				lock.UpRead(t, folioLockAnonVMARead(rwc))
			}
			return // unmapped while we locked: nothing to walk
		}
		tree = &anonIter{k: k, a: a, first: f.index, last: f.index + f.Nr() - 1, site: rwc.kind}
	default:
		fl := f.file
		name = fl.name
		lock = fl.immap
		if !lock.DownReadTrylock(t, "rmap_walk_file") {
			if rwc.tryLock {
				rwc.contended = true
				return
			}
			lock.DownRead(t, "rmap_walk_file")
		}
		tree = &fileIter{k: k, f: fl, first: f.index, last: f.index + f.Nr() - 1, site: rwc.kind}
	}
	if rwc.target != nil {
		w.Start = k.Mappings(rwc.target)
	}
	// The walker relies on the node it stands on, its VMA and (anon) the
	// anon_vma across every scheduling point of the walk: each is checked
	// after each point (a freed one is a use-after-free, as KASAN would
	// report the walker's next access).
	defer t.SetWatch(nil)
	watch := func() { tree.alive(t) }
	for {
		t.SetWatch(watch)
		t.Point(sched.KindWalk, name, rwc.kind, "next vma")
		v := tree.next(t)
		if v == nil {
			break
		}
		k.useVMA(t, v, rwc.kind)
		// Iterating the tree and trusting vm_start/vm_pgoff needs the rmap
		// lock (reference A.2, A.5, D.4).
		tree.assertLocked(t)
		addr, in := v.vmaAddress(f)
		if !in {
			continue
		}
		if rwc.invalidVMA != nil && rwc.invalidVMA(v) {
			w.Skipped = append(w.Skipped, v)
			continue
		}
		if rwc.mayMiss != nil && rwc.mayMiss(v) {
			w.MayMiss = append(w.MayMiss, v)
		}
		w.VMAs = append(w.VMAs, VMAText{name: v.name, start: v.start, end: v.end, pgoff: v.pgoff})
		if !rwc.rmapOne(t, v, addr, w) {
			break
		}
		if rwc.done != nil && rwc.done() {
			break
		}
	}
	if lock != nil {
		lock.UpRead(t, rwc.kind)
	}
	if rwc.target != nil && k.Hooks.WalkDone != nil {
		k.Hooks.WalkDone(t, w)
	}
}

func folioLockAnonVMARead(rwc *rmapWalkControl) string {
	if rwc.pinnedAV {
		return "rmap_walk_anon_lock"
	}
	return "folio_lock_anon_vma_read"
}

// walkIter is a walk's iteration over its interval tree, with the kernel's
// iterator (anon_vma_interval_tree_foreach / vma_interval_tree_foreach):
// interval_tree_iter_first, then interval_tree_iter_next from the node it
// stands on, which is all the state it keeps between VMAs.
type walkIter interface {
	next(t *sched.Task) *VMA    // the next VMA, nil at the end
	alive(t *sched.Task)        // checks what the walker relies on now
	assertLocked(t *sched.Task) // the tree's lock is held (a rule check)
}

type anonIter struct {
	k           *Kernel
	a           *AnonVMA
	first, last int
	site        string
	cur         *ivtree.Node[*AVC]
	begun       bool
}

func (it *anonIter) next(t *sched.Task) *VMA {
	k := it.k
	step := treeRead(k, t, it.a.name, it.site, func(c *AVC) { k.use(t, &c.Obj, "anon_vma_interval_tree_foreach") })
	if !it.begun {
		it.begun = true
		it.cur = iterate(t, it.a.name, it.site, func() *ivtree.Node[*AVC] { return it.a.tree.IterFirst(it.first, it.last, step) })
	} else {
		cur := it.cur
		it.cur = iterate(t, it.a.name, it.site, func() *ivtree.Node[*AVC] { return ivtree.IterNext(cur, it.first, it.last, step) })
	}
	if it.cur == nil {
		return nil
	}
	it.alive(t)
	return it.cur.Item.vma
}

func (it *anonIter) alive(t *sched.Task) {
	it.k.use(t, &it.a.Obj, it.site)
	if it.cur != nil {
		it.k.use(t, &it.cur.Item.Obj, "anon_vma_interval_tree_foreach")
		it.k.useVMA(t, it.cur.Item.vma, it.site)
	}
}

func (it *anonIter) assertLocked(t *sched.Task) {
	it.k.anonRwsem(it.a).AssertHeld(t, false, "anon_vma_interval_tree_foreach: the tree is iterated without the anon_vma lock")
}

type fileIter struct {
	k           *Kernel
	f           *File
	first, last int
	site        string
	cur         *ivtree.Node[*VMA]
	begun       bool
}

func (it *fileIter) next(t *sched.Task) *VMA {
	k, name := it.k, it.f.name+" i_mmap"
	step := treeRead(k, t, name, it.site, func(v *VMA) { k.useVMA(t, v, "vma_interval_tree_foreach") })
	if !it.begun {
		it.begun = true
		it.cur = iterate(t, name, it.site, func() *ivtree.Node[*VMA] { return it.f.tree.IterFirst(it.first, it.last, step) })
	} else {
		cur := it.cur
		it.cur = iterate(t, name, it.site, func() *ivtree.Node[*VMA] { return ivtree.IterNext(cur, it.first, it.last, step) })
	}
	if it.cur == nil {
		return nil
	}
	it.alive(t)
	return it.cur.Item
}

func (it *fileIter) alive(t *sched.Task) {
	if it.cur != nil {
		it.k.useVMA(t, it.cur.Item, "vma_interval_tree_foreach")
	}
}

// step is one turn of a vma_interval_tree_foreach whose caller holds
// i_mmap_rwsem and works on each VMA before it steps on: a scheduling
// point, the next VMA (nil at the end), the lock asserted. From the first
// step on, the node the walk stands on is checked alive after every
// scheduling point (t's watch: the caller clears it when it is done).
func (it *fileIter) step(t *sched.Task) *VMA {
	t.SetWatch(func() { it.alive(t) })
	t.Point(sched.KindWalk, it.f.name+" i_mmap", it.site, "vma_interval_tree_foreach")
	v := it.next(t)
	if v != nil {
		it.assertLocked(t)
	}
	return v
}

func (it *fileIter) assertLocked(t *sched.Task) {
	it.f.immap.AssertHeld(t, false, "vma_interval_tree_foreach: i_mmap is iterated without i_mmap_rwsem")
}

// vmaIsTemporaryStack is vma_is_temporary_stack().
func vmaIsTemporaryStack(v *VMA) bool { return v.Flags()&VMStackIncompleteSetup != 0 }
