package sched

import (
	"fmt"
	"hash/fnv"
	"strings"
)

// Kind classifies a scheduling point or trace event.
type Kind uint8

// The kinds of events a run records. Lock kinds are emitted by kernelsim/ksync;
// the model emits the memory kinds; the scheduler emits Start, Exit and Block.
const (
	KindNote    Kind = iota // free-form annotation, not a scheduling point by itself
	KindStart               // task begins
	KindExit                // task returns
	KindAcquire             // blocking lock acquisition attempt
	KindGranted             // a blocked acquisition was granted
	KindTrylock             // trylock attempt (detail says ok or failed)
	KindRelease             // lock release
	KindBlock               // the task blocks (not runnable) on an object
	KindRCU                 // RCU read-side boundary or grace-period event
	KindRead                // read of shared model state (PTE, VMA field, tree node)
	KindWrite               // write of shared model state
	KindWalk                // one interval-tree or page-table walk step
	KindOp                  // an op of the program begins
	KindChoice              // a data choice made by the strategy
	numKinds
)

var kindNames = [numKinds]string{
	"note", "start", "exit", "acquire", "granted", "trylock", "release",
	"block", "rcu", "read", "write", "walk", "op", "choice",
}

func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Event is one entry of a run's trace.
type Event struct {
	Step   int    // global step number at which the event happened
	Task   int    // task index (0-based; printed as t1, t2, ...)
	Kind   Kind   // what kind of event
	Obj    string // the object involved (lock name, PTE address, VMA, ...)
	Site   string // the simulated kernel function or call site
	Detail string // what happened (granted, failed, moved 0x35 -> 0x15, ...)
}

// TaskName returns the printable name of task index i.
func TaskName(i int) string {
	if i < 0 {
		return "runner"
	}
	if i < len(taskNames) {
		return taskNames[i]
	}
	return fmt.Sprintf("t%d", i+1)
}

var taskNames = [...]string{"t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8"}

func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%4d %-3s %-8s %s", e.Step, TaskName(e.Task), e.Kind, e.Obj)
	if e.Site != "" {
		b.WriteString(" @")
		b.WriteString(e.Site)
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// Trace is the ordered list of events of one run.
type Trace struct {
	Events []Event
}

// Hash returns a stable 64-bit FNV-1a hash of the trace. Two runs with the same
// program, variants and schedule have the same hash.
func (tr *Trace) Hash() uint64 {
	h := fnv.New64a()
	var buf [16]byte
	for _, e := range tr.Events {
		n := putUvarint(buf[:0], uint64(e.Step))
		h.Write(n)
		h.Write([]byte{byte(e.Task), byte(e.Kind)})
		h.Write([]byte(e.Obj))
		h.Write([]byte{0})
		h.Write([]byte(e.Site))
		h.Write([]byte{0})
		h.Write([]byte(e.Detail))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// Tail returns the last n events formatted one per line.
func (tr *Trace) Tail(n int) string {
	ev := tr.Events
	if len(ev) > n {
		ev = ev[len(ev)-n:]
	}
	var b strings.Builder
	for _, e := range ev {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// String formats the whole trace, one event per line.
func (tr *Trace) String() string { return tr.Tail(len(tr.Events)) }

func putUvarint(b []byte, x uint64) []byte {
	for x >= 0x80 {
		b = append(b, byte(x)|0x80)
		x >>= 7
	}
	return append(b, byte(x))
}
