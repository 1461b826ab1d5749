package ksync

import (
	"mmrace/kernelsim/sched"
)

// RCU models rcu_read_lock sections and deferred frees. A callback queued
// by CallRCU runs only once every task that was inside a read section when it
// was queued has left that section; it runs in the context of the task whose
// rcu_read_unlock ends the grace period (or at once when no task is inside a
// section). Callbacks must not block or hit scheduling points: they free
// (poison) objects. Synchronize (synchronize_rcu) sleeps for a grace period.
type RCU struct {
	env       *Env
	mu        Mu
	nesting   [maxTasks]int
	callbacks []rcuCallback
	syncers   []rcuSyncer
	// sects is each task's stack of read sections opened while a mutant
	// was set (phantom ones among them); nsect numbers them.
	sects [maxTasks][]rcuSect
	nsect uint32
}

type rcuCallback struct {
	waitFor uint32
	what    string
	fn      func()
}

type rcuSyncer struct {
	t       *sched.Task
	waitFor uint32
}

// Name implements sched.Waitable.
func (r *RCU) Name() string { return "rcu grace period" }

// Holders implements sched.Waitable: the tasks inside read sections.
func (r *RCU) Holders(buf []int) []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, n := range r.nesting {
		if n > 0 {
			buf = append(buf, i)
		}
	}
	return buf
}

func (r *RCU) readersLocked() uint32 {
	var m uint32
	for i, n := range r.nesting {
		if n > 0 {
			m |= 1 << i
		}
	}
	return m
}

// ReadLock is rcu_read_lock. The outermost one is a scheduling point.
func (r *RCU) ReadLock(t *sched.Task, site string) {
	var mk MutantKind
	if r.env.mut != nil {
		if mk = r.mutateReadLock(t, site); mk == MutantRemove {
			return
		}
	}
	id := t.ID()
	if r.nesting[id] == 0 {
		t.PointF(sched.KindRCU, site, sched.Obj("rcu").Detail("rcu_read_lock"))
	}
	r.mu.Lock()
	r.nesting[id]++
	r.mu.Unlock()
	if mk == MutantReleaseEarly {
		r.endEarly(t, site)
	}
}

// ReadUnlock is rcu_read_unlock. Leaving the outermost section may end
// grace periods: their callbacks run now, their synchronize_rcu callers wake.
func (r *RCU) ReadUnlock(t *sched.Task, site string) {
	if r.env.mut != nil && r.endSect(t) {
		return // the rcu_read_lock was removed or its section ended early
	}
	id := t.ID()
	switch r.nesting[id] {
	case 0:
		r.env.internal(t, "%s: rcu_read_unlock outside a read section", site)
	case 1:
		t.PointF(sched.KindRCU, site, sched.Obj("rcu").Detail("rcu_read_unlock"))
	}
	r.exit(t)
}

// exit leaves t's innermost read section (the part of rcu_read_unlock after
// its scheduling point).
func (r *RCU) exit(t *sched.Task) {
	id := t.ID()
	r.mu.Lock()
	r.nesting[id]--
	var ready []rcuCallback
	if r.nesting[id] == 0 {
		bit := uint32(1) << id
		keep := r.callbacks[:0]
		for _, c := range r.callbacks {
			c.waitFor &^= bit
			if c.waitFor == 0 {
				ready = append(ready, c)
			} else {
				keep = append(keep, c)
			}
		}
		r.callbacks = keep
		ks := r.syncers[:0]
		for _, s := range r.syncers {
			s.waitFor &^= bit
			if s.waitFor == 0 {
				t.Unpark(s.t)
			} else {
				ks = append(ks, s)
			}
		}
		r.syncers = ks
	}
	r.mu.Unlock()
	for _, c := range ready {
		t.RecordF(sched.KindRCU, "rcu callback", sched.Obj(c.what).Detail("runs after grace period"))
		c.fn()
	}
}

// InReadSection reports whether t is inside an RCU read section.
func (r *RCU) InReadSection(t *sched.Task) bool { return r.nesting[t.ID()] > 0 }

// AssertReadHeld checks that t is inside a read section
// (RCU_LOCKDEP_WARN(!rcu_read_lock_held())).
func (r *RCU) AssertReadHeld(t *sched.Task, what string) {
	if r.env.rules && !r.InReadSection(t) {
		r.env.fail(t, "lock-rule", "%s: %s is not inside an RCU read section", what, t.Name())
	}
}

// CallRCU is call_rcu: fn runs after every read section that is open now has
// ended. what names the deferred work in the trace.
func (r *RCU) CallRCU(t *sched.Task, what string, fn func()) {
	r.mu.Lock()
	m := r.readersLocked()
	if m != 0 {
		r.callbacks = append(r.callbacks, rcuCallback{waitFor: m, what: what, fn: fn})
		r.mu.Unlock()
		t.RecordF(sched.KindRCU, "call_rcu", sched.Obj(what).Detail("deferred"))
		return
	}
	r.mu.Unlock()
	t.RecordF(sched.KindRCU, "call_rcu", sched.Obj(what).Detail("no readers: runs now"))
	fn()
}

// Pending returns the number of callbacks still waiting for a grace period.
func (r *RCU) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.callbacks)
}

// Synchronize is synchronize_rcu: sleep until every read section open now
// has ended. Calling it inside a read section is a self-deadlock.
func (r *RCU) Synchronize(t *sched.Task, site string) {
	if r.InReadSection(t) && r.env.rules {
		r.env.fail(t, "lock-rule", "%s: synchronize_rcu inside an RCU read section", site)
	}
	if r.env.rules && r.env.spin[t.ID()] > 0 {
		r.env.fail(t, "lock-rule", "%s: synchronize_rcu while holding spinlock %s (sleeping in atomic context)", site, r.env.lastSpin(t.ID()))
	}
	t.PointF(sched.KindRCU, site, sched.Obj("rcu").Detail("synchronize_rcu"))
	r.mu.Lock()
	m := r.readersLocked()
	if m == 0 {
		r.mu.Unlock()
		return
	}
	r.syncers = append(r.syncers, rcuSyncer{t: t, waitFor: m})
	r.mu.Unlock()
	t.Park(r)
	t.RecordF(sched.KindRCU, site, sched.Obj("rcu").Detail("grace period ended"))
}
