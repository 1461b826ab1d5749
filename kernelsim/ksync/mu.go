package ksync

import "sync"

// Mu is a sync.Mutex that guards the simulator's own bookkeeping against
// the parallel tasks of a free-mode run. A controlled run needs none: one
// task runs at a time and every hand-off of the baton is a channel
// operation, which orders what the tasks do before and after it. The Mus
// of an Env made with Config.Controlled, and the ones the model makes with
// Env.InitMu, are off: Lock and Unlock do nothing. A zero Mu is on.
type Mu struct {
	mu  sync.Mutex
	off bool
}

// Lock locks m unless it is off.
func (m *Mu) Lock() {
	if !m.off {
		m.mu.Lock()
	}
}

// Unlock unlocks m unless it is off.
func (m *Mu) Unlock() {
	if !m.off {
		m.mu.Unlock()
	}
}

// InitMu switches m off when e serves controlled runs only
// (Config.Controlled). Call it before m is shared.
func (e *Env) InitMu(m *Mu) { m.off = e.controlled }

// Controlled reports whether e serves controlled runs only
// (Config.Controlled).
func (e *Env) Controlled() bool { return e.controlled }
