package ksync

import (
	"mmrace/kernelsim/sched"
)

// Mutex is an exclusive lock: a spinlock when its class is not Sleeping
// (mm->page_table_lock, PTLs), a sleeping bit lock otherwise (the folio
// lock). While a task spins it is not runnable, exactly like a sleeper, so a
// spinlock cycle is reported as a deadlock too; holding a spinlock puts the
// task in atomic context, where sleeping locks are a rule violation.
type Mutex struct {
	env     *Env
	name    string
	cls     *Class
	mu      Mu
	owner   int // task index, -1 when unlocked
	waiters []waiter
}

// NewMutex returns an unlocked exclusive lock of class c named name.
func (e *Env) NewMutex(name string, c *Class) *Mutex {
	m := carve(e, &e.mutexes)
	m.env, m.name, m.cls, m.owner = e, name, c, -1
	e.InitMu(&m.mu)
	return m
}

// Name implements sched.Waitable.
func (m *Mutex) Name() string { return m.name }

func (m *Mutex) class() *Class { return m.cls }

// Holders implements sched.Waitable.
func (m *Mutex) Holders(buf []int) []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.owner >= 0 {
		buf = append(buf, m.owner)
	}
	return buf
}

// Lock takes the lock (spin_lock, folio_lock).
func (m *Mutex) Lock(t *sched.Task, site string) { m.LockNested(t, 0, site) }

// LockNested is spin_lock_nested(lock, subclass): the annotation for the
// second lock of one class, such as the new PTL taken under the old one in
// move_ptes().
func (m *Mutex) LockNested(t *sched.Task, subclass int, site string) {
	var mk MutantKind
	if m.env.mut != nil {
		if mk = m.env.mutation(Acquisition{Class: m.cls.Name, Lock: m.name, Write: true}); mk == MutantRemove {
			m.env.pushPhantom(t, m, true, subclass, site)
			m.env.applied(t, m.name, site, "remove: acquisition removed")
			return
		}
	}
	m.env.beforeAcquire(t, m, true, subclass, site)
	t.PointF(sched.KindAcquire, site, sched.Obj(m.name))
	m.mu.Lock()
	if m.owner < 0 && len(m.waiters) == 0 {
		m.owner = t.ID()
		m.mu.Unlock()
	} else {
		m.waiters = append(m.waiters, waiter{t: t, write: true})
		m.mu.Unlock()
		t.Park(m)
		t.RecordF(sched.KindGranted, site, sched.Obj(m.name))
	}
	m.env.push(t, m, true, false, subclass, site)
	if mk == MutantReleaseEarly {
		m.env.releaseEarly(t, m, site, m.unlock)
	}
}

// Trylock takes the lock if it is free (spin_trylock, folio_trylock).
func (m *Mutex) Trylock(t *sched.Task, site string) bool {
	var mk MutantKind
	if m.env.mut != nil {
		if mk = m.env.mutation(Acquisition{Class: m.cls.Name, Lock: m.name, Trylock: true, Write: true}); mk == MutantRemove {
			m.env.pushPhantom(t, m, true, 0, site)
			m.env.applied(t, m.name, site, "remove: trylock removed (succeeds)")
			return true
		}
	}
	t.PointF(sched.KindTrylock, site, sched.Obj(m.name))
	m.mu.Lock()
	ok := m.owner < 0 && len(m.waiters) == 0
	if ok {
		m.owner = t.ID()
	}
	m.mu.Unlock()
	t.AmendF(sched.Detail(okWord(ok)))
	if ok {
		m.env.push(t, m, true, true, 0, site)
		if mk == MutantReleaseEarly {
			m.env.releaseEarly(t, m, site, m.unlock)
		}
	} else if mk == MutantIgnoreTrylockFailure {
		m.env.pushPhantom(t, m, true, 0, site)
		hs := m.env.held[t.ID()]
		hs[len(hs)-1].ignored = true
		m.env.applied(t, m.name, site, "ignore-trylock-failure: proceeds as if it held it")
		return true
	}
	return ok
}

// Unlock releases the lock, wakes every task waiting for it to be unlocked
// and hands it to the first task queued to take it.
func (m *Mutex) Unlock(t *sched.Task, site string) {
	if m.env.mut != nil && m.env.releasePhantom(t, m) {
		if m.env.takeStealing(t) {
			// The trylock failed and the mutant went on as if it had
			// not: the kernel's unlock still runs, and clears the lock
			// its holder took (folio_unlock clears PG_locked,
			// spin_unlock the lock word, whoever set them): the holder
			// goes on believing it holds a lock that others may now
			// take.
			m.mu.Lock()
			held := m.owner >= 0 && m.owner != t.ID()
			m.mu.Unlock()
			if held {
				t.PointF(sched.KindRelease, site, sched.Obj(m.name).Detail("(mutant ignore-trylock-failure: the unlock releases the holder's lock)"))
				m.unlock(t, true)
			}
		}
		return // the acquisition was removed or released early
	}
	t.PointF(sched.KindRelease, site, sched.Obj(m.name))
	m.env.pop(t, m)
	m.unlock(t, true)
	m.env.released(t)
}

// unlock frees the lock (the mutex's part of Unlock): wake every task
// waiting for it to be unlocked, hand it to the first one queued to take it.
func (m *Mutex) unlock(t *sched.Task, _ bool) {
	m.mu.Lock()
	m.owner = -1
	keep := m.waiters[:0]
	granted := false
	for _, w := range m.waiters {
		switch {
		case w.waitOnly:
			t.Unpark(w.t)
		case !granted:
			m.owner = w.t.ID()
			granted = true
			t.Unpark(w.t)
		default:
			keep = append(keep, w)
		}
	}
	m.waiters = keep
	m.mu.Unlock()
}

// WaitUnlocked sleeps until the lock is free without taking it, like
// folio_wait_locked() and migration_entry_wait_on_locked(). The wait is
// checked like a blocking acquisition (order, lockdep, atomic context).
func (m *Mutex) WaitUnlocked(t *sched.Task, site string) {
	m.env.beforeAcquire(t, m, true, 0, site)
	t.PointF(sched.KindAcquire, site, sched.Obj(m.name).Detail("wait unlocked"))
	m.mu.Lock()
	if m.owner < 0 {
		m.mu.Unlock()
		t.AmendF(sched.Detail("wait unlocked: was free"))
		return
	}
	m.waiters = append(m.waiters, waiter{t: t, waitOnly: true})
	m.mu.Unlock()
	t.Park(m)
	t.RecordF(sched.KindGranted, site, sched.Obj(m.name).Detail("unlocked"))
}

// IsLocked reports whether the lock is held (spin_is_locked, folio_test_locked).
func (m *Mutex) IsLocked() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.owner >= 0
}

// Owner returns the index of the holding task, or -1.
func (m *Mutex) Owner() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.owner
}

// AssertHeld checks that t holds the lock (lockdep_assert_held).
func (m *Mutex) AssertHeld(t *sched.Task, what string) { m.env.AssertHeld(t, m, true, what) }

// AssertHeldIn is AssertHeld(t, site+": "+what), the text made only when
// the check fails.
func (m *Mutex) AssertHeldIn(t *sched.Task, site, what string) {
	m.env.assertHeldIn(t, m, true, site, what)
}
