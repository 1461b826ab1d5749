package sched

import (
	"fmt"
	"hash/fnv"
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
	KindAccess              // a user load or store: issued, faulted, restarted, retired
	numKinds
)

var kindNames = [numKinds]string{
	"note", "start", "exit", "acquire", "granted", "trylock", "release",
	"block", "rcu", "read", "write", "walk", "op", "choice", "access",
}

func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Event is one entry of a run's trace. Its object and detail are plain
// text in Obj and Detail when recorded by Point, Record and Amend (and by
// PointF, RecordF and AmendF for the parts of a Text without a format). A
// part recorded as a format with operands (Text's Objf, Detailf) is kept
// typed and Obj or Detail is empty: read ObjText and DetailText, which are
// right for both, or AppendObj and AppendDetail, which allocate nothing.
type Event struct {
	Step   int    // global step number at which the event happened
	Task   int    // task index (0-based; printed as t1, t2, ...)
	Kind   Kind   // what kind of event
	Obj    string // the object involved (lock name, PTE address, VMA, ...), when plain
	Site   string // the simulated kernel function or call site
	Detail string // what happened (granted, failed, moved 0x35 -> 0x15, ...), when plain
	x      *Text  // the typed parts, or nil
}

// ObjText returns the object's text, made now if it was recorded typed.
func (e Event) ObjText() string {
	if e.x == nil || !e.x.objF {
		return e.Obj
	}
	return string(e.x.appendObj(nil))
}

// DetailText returns the detail's text, made now if it was recorded typed.
func (e Event) DetailText() string {
	if e.x == nil || !e.x.detF {
		return e.Detail
	}
	return string(e.x.appendDetail(nil))
}

// AppendObj appends the object's text to b.
func (e Event) AppendObj(b []byte) []byte {
	if e.x == nil || !e.x.objF {
		return append(b, e.Obj...)
	}
	return e.x.appendObj(b)
}

// AppendDetail appends the detail's text to b.
func (e Event) AppendDetail(b []byte) []byte {
	if e.x == nil || !e.x.detF {
		return append(b, e.Detail...)
	}
	return e.x.appendDetail(b)
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

func (e Event) String() string { return string(e.appendText(nil)) }

// appendText appends the event as String prints it.
func (e *Event) appendText(b []byte) []byte {
	b = fmt.Appendf(b, "%4d %-3s %-8s ", e.Step, TaskName(e.Task), e.Kind)
	b = e.AppendObj(b)
	if e.Site != "" {
		b = append(b, " @"...)
		b = append(b, e.Site...)
	}
	n := len(b)
	if b = e.AppendDetail(append(b, ": "...)); len(b) == n+2 {
		b = b[:n] // no detail
	}
	return b
}

// Trace is the ordered list of events of one run, or of several runs one
// after the other (Options.Trace).
type Trace struct {
	Events []Event
	texts  []Text   // the chunk where typed event parts go (Sched.keep)
	chunks [][]Text // every chunk allocated, in the order they are filled, for Reset
	used   int      // chunks[:used] have been filled, up to texts
}

// Reset empties tr for a new recording into the same memory: the array of
// its events and the chunks that hold their typed parts, which the new
// events overwrite. Neither an event recorded in tr before nor an Event
// copied out of it may be read afterwards. A loop that keeps only its
// last trace (harness.Options.Reuse) records with no allocation once the
// memory has grown to the largest run.
func (tr *Trace) Reset() {
	tr.Events = tr.Events[:0]
	tr.texts, tr.used = nil, 0
}

// Hash returns a stable 64-bit FNV-1a hash of the trace. Two runs with the
// same program, variants and schedule have the same hash. It covers, for
// every event in order, the step (as a uvarint), the task and the kind (one
// byte each), and the object, site and detail texts, each followed by a zero
// byte. The texts are hashed as ObjText and DetailText make them, so an
// event recorded typed (PointF) hashes exactly like the same text recorded
// plain (Point): converting a call site to PointF without changing its text
// leaves every trace hash unchanged.
func (tr *Trace) Hash() uint64 {
	h := fnv.New64a()
	var buf []byte
	for i := range tr.Events {
		e := &tr.Events[i]
		buf = putUvarint(buf[:0], uint64(e.Step))
		buf = append(buf, byte(e.Task), byte(e.Kind))
		buf = e.AppendObj(buf)
		buf = append(buf, 0)
		buf = append(buf, e.Site...)
		buf = append(buf, 0)
		buf = e.AppendDetail(buf)
		buf = append(buf, 0)
		h.Write(buf)
	}
	return h.Sum64()
}

// Tail returns the last n events formatted one per line.
func (tr *Trace) Tail(n int) string {
	ev := tr.Events
	if len(ev) > n {
		ev = ev[len(ev)-n:]
	}
	var b []byte
	for i := range ev {
		b = ev[i].appendText(b)
		b = append(b, '\n')
	}
	return string(b)
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
