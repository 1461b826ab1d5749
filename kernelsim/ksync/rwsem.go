package ksync

import (
	"sync/atomic"

	"mmrace/kernelsim/sched"
)

// waiter is a task queued on a lock.
type waiter struct {
	t        *sched.Task
	write    bool
	waitOnly bool // folio_wait_locked: wants to see the lock free, not to own it
}

// Rwsem is a reader-writer semaphore with the kernel's writer preference: a
// reader neither acquires nor trylocks while a writer holds the lock or
// waits for it (RWSEM_READ_FAILED_MASK includes the waiters flag). Waiters
// are granted in FIFO order by the releasing task (hand-off), a writer alone,
// readers together with the readers queued right behind them; that grouping
// is a simplification of rwsem_mark_wake(), which may also wake readers
// queued behind a writer.
type Rwsem struct {
	env     *Env
	name    string
	cls     *Class
	mu      Mu    // free mode
	writer  int   // task index of the writer, -1 when none
	readers []int // task indexes of the readers (a multiset)
	waiters []waiter
	epoch   *atomic.Int64 // mmap_lock's mm_lock_seq: a write release ends the write epoch (release-early mutants)
}

// NewRwsem returns an unlocked rwsem named name (as printed in traces, e.g.
// "mmap_lock(mm1)") of class c.
func (e *Env) NewRwsem(name string, c *Class) *Rwsem {
	r := carve(e, &e.rwsems)
	r.env, r.name, r.cls, r.writer = e, name, c, -1
	e.InitMu(&r.mu)
	return r
}

// Name implements sched.Waitable.
func (r *Rwsem) Name() string { return r.name }

func (r *Rwsem) class() *Class { return r.cls }

// Holders implements sched.Waitable.
func (r *Rwsem) Holders(buf []int) []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.writer >= 0 {
		buf = append(buf, r.writer)
	}
	return append(buf, r.readers...)
}

// DownRead takes the rwsem for read, sleeping while a writer holds it or
// waits for it (down_read).
func (r *Rwsem) DownRead(t *sched.Task, site string) { r.down(t, false, 0, site) }

// DownWrite takes the rwsem for write (down_write).
func (r *Rwsem) DownWrite(t *sched.Task, site string) { r.down(t, true, 0, site) }

// DownWriteNested is down_write_nested(sem, subclass): the lockdep
// annotation for holding two locks of one class (parent and child mmap_lock
// in dup_mmap).
func (r *Rwsem) DownWriteNested(t *sched.Task, subclass int, site string) {
	r.down(t, true, subclass, site)
}

// DownWriteBeneath is down_write where the kernel takes the rwsem while
// holding held against the order of mm/rmap.c, with an argument (written at
// the call) that no deadlock can follow: the acquisition is not checked
// against held (rank or lockdep), only against the other locks t holds. A
// real deadlock is still a deadlock of the run. A nil held is DownWrite.
func (r *Rwsem) DownWriteBeneath(t *sched.Task, held *Mutex, site string) {
	if held != nil && r.env.rules { // beforeAcquire consumes it (with rules on only)
		r.env.beneath[t.ID()] = held
	}
	r.down(t, true, 0, site)
	r.env.beneath[t.ID()] = nil // unconsumed when a mutant removed the acquisition
}

func (r *Rwsem) down(t *sched.Task, write bool, sub int, site string) {
	var mk MutantKind
	if r.env.mut != nil {
		if mk = r.env.mutation(Acquisition{Class: r.cls.Name, Lock: r.name, Write: write}); mk == MutantRemove {
			r.env.pushPhantom(t, r, write, sub, site)
			r.env.applied(t, r.name, site, "remove: "+modeWord(write)+" acquisition removed")
			return
		}
	}
	r.env.beforeAcquire(t, r, write, sub, site)
	t.PointF(sched.KindAcquire, site, sched.Obj(r.name).Detail(modeWord(write)))
	r.mu.Lock()
	if r.grantable(write) && len(r.waiters) == 0 {
		r.take(t.ID(), write)
		r.mu.Unlock()
	} else {
		r.waiters = append(r.waiters, waiter{t: t, write: write})
		r.mu.Unlock()
		t.Park(r)
		t.RecordF(sched.KindGranted, site, sched.Obj(r.name).Detail(modeWord(write)))
	}
	r.env.push(t, r, write, false, sub, site)
	if mk == MutantReleaseEarly {
		r.env.releaseEarly(t, r, site, r.release)
	}
}

// DownReadTrylock is down_read_trylock: it fails instead of sleeping.
func (r *Rwsem) DownReadTrylock(t *sched.Task, site string) bool { return r.try(t, false, site) }

// DownWriteTrylock is down_write_trylock.
func (r *Rwsem) DownWriteTrylock(t *sched.Task, site string) bool { return r.try(t, true, site) }

func (r *Rwsem) try(t *sched.Task, write bool, site string) bool {
	var mk MutantKind
	if r.env.mut != nil {
		if mk = r.env.mutation(Acquisition{Class: r.cls.Name, Lock: r.name, Trylock: true, Write: write}); mk == MutantRemove {
			r.env.pushPhantom(t, r, write, 0, site)
			r.env.applied(t, r.name, site, "remove: "+modeWord(write)+" trylock removed (succeeds)")
			return true
		}
	}
	t.PointF(sched.KindTrylock, site, sched.Obj(r.name).Detail(modeWord(write)))
	r.mu.Lock()
	ok := r.grantable(write) && len(r.waiters) == 0
	if ok {
		r.take(t.ID(), write)
	}
	r.mu.Unlock()
	t.AmendF(sched.Detail(tryWord(write, ok)))
	if ok {
		r.env.push(t, r, write, true, 0, site)
		if mk == MutantReleaseEarly {
			r.env.releaseEarly(t, r, site, r.release)
		}
	} else if mk == MutantIgnoreTrylockFailure {
		r.env.pushPhantom(t, r, write, 0, site)
		r.env.applied(t, r.name, site, "ignore-trylock-failure: proceeds as if it held it")
		return true
	}
	return ok
}

// UpRead releases a read hold (up_read).
func (r *Rwsem) UpRead(t *sched.Task, site string) { r.up(t, false, site) }

// UpWrite releases a write hold (up_write).
func (r *Rwsem) UpWrite(t *sched.Task, site string) { r.up(t, true, site) }

func (r *Rwsem) up(t *sched.Task, write bool, site string) {
	if r.env.mut != nil && r.env.releasePhantom(t, r) {
		return // the acquisition was removed or released early
	}
	t.PointF(sched.KindRelease, site, sched.Obj(r.name).Detail(modeWord(write)))
	h := r.env.pop(t, r)
	if h.write != write {
		r.env.internal(t, "%s: %s releases %s for %s but holds it for %s", site, t.Name(), r.name, modeWord(write), modeWord(h.write))
	}
	r.unlock(t, write)
	r.env.released(t)
}

// unlock gives up t's hold (the rwsem's part of up_read/up_write) and
// hands the lock on.
func (r *Rwsem) unlock(t *sched.Task, write bool) {
	r.mu.Lock()
	if write {
		r.writer = -1
	} else {
		r.readers = removeOne(r.readers, t.ID())
	}
	r.grant(t)
	r.mu.Unlock()
}

// release is a release-early mutant's release of t's hold: an mmap_lock
// held for write ends its write epoch first, as mmap_write_unlock does.
func (r *Rwsem) release(t *sched.Task, write bool) {
	if write && r.epoch != nil {
		r.epoch.Add(1)
	}
	r.unlock(t, write)
}

// DowngradeWrite turns t's write hold into a read hold and lets the readers
// queued at the front in (downgrade_write).
func (r *Rwsem) DowngradeWrite(t *sched.Task, site string) {
	if r.env.mut != nil && r.env.downgradePhantom(t, r) {
		return // the write acquisition was removed or released early
	}
	t.PointF(sched.KindRelease, site, sched.Obj(r.name).Detail("downgrade"))
	if r.env.mut != nil && r.env.downgradePhantom(t, r) {
		return // released early at this very point
	}
	ok, w := r.env.holds(t, r)
	if !ok || !w {
		r.env.internal(t, "%s: %s downgrades %s without holding it for write", site, t.Name(), r.name)
	}
	r.env.setMode(t, r, false)
	r.mu.Lock()
	r.writer = -1
	r.readers = append(r.readers, t.ID())
	r.grant(t)
	r.mu.Unlock()
}

// IsLocked reports whether anyone holds the rwsem (rwsem_is_locked).
func (r *Rwsem) IsLocked() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.writer >= 0 || len(r.readers) > 0
}

func (r *Rwsem) grantable(write bool) bool {
	if write {
		return r.writer < 0 && len(r.readers) == 0
	}
	return r.writer < 0
}

func (r *Rwsem) take(id int, write bool) {
	if write {
		r.writer = id
	} else {
		r.readers = append(r.readers, id)
	}
}

// grant hands the lock to the waiters at the front of the queue. Called with
// r.mu held by the releasing task rel.
func (r *Rwsem) grant(rel *sched.Task) {
	for len(r.waiters) > 0 {
		w := r.waiters[0]
		if !r.grantable(w.write) {
			return
		}
		r.take(w.t.ID(), w.write)
		r.waiters = r.waiters[1:]
		rel.Unpark(w.t)
		if w.write {
			return
		}
	}
}

func removeOne(s []int, x int) []int {
	for i, v := range s {
		if v == x {
			return append(s[:i], s[i+1:]...)
		}
	}
	return s
}

func modeWord(write bool) string {
	if write {
		return "write"
	}
	return "read"
}

func okWord(ok bool) string {
	if ok {
		return "ok"
	}
	return "failed"
}

// tryWord is the outcome of a trylock in mode write: "read ok", "write
// failed", ...
func tryWord(write, ok bool) string {
	switch {
	case write && ok:
		return "write ok"
	case write:
		return "write failed"
	case ok:
		return "read ok"
	}
	return "read failed"
}

// AssertHeld checks that t holds the rwsem, for write when write is set
// (lockdep_assert_held / lockdep_assert_held_write).
func (r *Rwsem) AssertHeld(t *sched.Task, write bool, what string) {
	r.env.AssertHeld(t, r, write, what)
}

// AssertHeldIn is AssertHeld(t, write, site+": "+what), the text made only
// when the check fails.
func (r *Rwsem) AssertHeldIn(t *sched.Task, write bool, site, what string) {
	r.env.assertHeldIn(t, r, write, site, what)
}

// AssertEitherHeld checks that t holds a or b (in any mode): the
// lockdep_is_held(a) || lockdep_is_held(b) of hugetlb_walk(), whose
// walker may hold the hugetlb VMA lock or i_mmap_rwsem. what names the
// kernel assertion in the report.
func AssertEitherHeld(t *sched.Task, a, b *Rwsem, what string) {
	e := a.env
	if !e.rules {
		return
	}
	if ok, _ := e.holds(t, a); ok {
		return
	}
	if ok, _ := e.holds(t, b); ok {
		return
	}
	e.fail(t, "lock-rule", "%s: %s holds neither %s nor %s (holds: %s)", what, t.Name(), a.Name(), b.Name(), heldList(e.Held(t)))
}

// HeldBy reports whether t holds r, and whether for write.
func (r *Rwsem) HeldBy(t *sched.Task) (held, write bool) { return r.env.holds(t, r) }
