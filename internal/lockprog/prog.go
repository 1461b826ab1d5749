// Package lockprog is a tiny language of lock operations used to exercise
// the scheduler and the lock primitives on their own: the determinism,
// deadlock and leak tests, and the demo that `mmrace demo` prints.
//
// A program is one line per operation, the task named first:
//
//	t1: down_write A
//	t2: spin_lock P
//	t1: vma_read V1
//
// Objects: rwsems A and B, spinlocks P and Q (each its own unranked class),
// mm1's mmap_lock M with VMA locks V1 and V2, folio lock F, and RCU.
package lockprog

import (
	"fmt"
	"strings"
)

// Verb is one kind of operation.
type Verb uint8

// The verbs of the language.
const (
	DownRead Verb = iota
	DownWrite
	DownReadTrylock
	DownWriteTrylock
	UpRead
	UpWrite
	SpinLock
	SpinTrylock
	SpinUnlock
	FolioLock
	FolioTrylock
	FolioUnlock
	MmapReadLock
	MmapWriteLock
	MmapReadTrylock
	MmapReadUnlock
	MmapWriteUnlock
	MmapWriteDowngrade
	VMAStartWrite
	VMARead
	VMAEndRead
	RCUReadLock
	RCUReadUnlock
	CallRCU
	SynchronizeRCU
	Choose
	Nop
	numVerbs
)

var verbNames = [numVerbs]string{
	"down_read", "down_write", "down_read_trylock", "down_write_trylock", "up_read", "up_write",
	"spin_lock", "spin_trylock", "spin_unlock", "folio_lock", "folio_trylock", "folio_unlock",
	"mmap_read_lock", "mmap_write_lock", "mmap_read_trylock", "mmap_read_unlock", "mmap_write_unlock",
	"mmap_write_downgrade", "vma_start_write", "vma_read", "vma_end_read",
	"rcu_read_lock", "rcu_read_unlock", "call_rcu", "synchronize_rcu", "choose", "nop",
}

func (v Verb) String() string { return verbNames[v] }

// takesObj reports which object names a verb accepts.
func (v Verb) objs() []string {
	switch v {
	case DownRead, DownWrite, DownReadTrylock, DownWriteTrylock, UpRead, UpWrite:
		return []string{"A", "B"}
	case SpinLock, SpinTrylock, SpinUnlock:
		return []string{"P", "Q"}
	case FolioLock, FolioTrylock, FolioUnlock:
		return []string{"F"}
	case VMAStartWrite, VMARead, VMAEndRead:
		return []string{"V1", "V2"}
	case MmapReadLock, MmapWriteLock, MmapReadTrylock, MmapReadUnlock, MmapWriteUnlock, MmapWriteDowngrade:
		return []string{"M"}
	}
	return nil
}

// Op is one operation of a task.
type Op struct {
	Task int    // task index (t1 is 0)
	Verb Verb   // what to do
	Obj  string // object name, "" for verbs without one
}

func (o Op) String() string {
	s := fmt.Sprintf("t%d: %s", o.Task+1, o.Verb)
	if o.Obj != "" {
		s += " " + o.Obj
	}
	return s
}

// Program is a list of operations; each task runs its own in order.
type Program struct {
	Tasks int
	Ops   []Op
}

// String returns the canonical text form, which Parse reads back exactly.
func (p *Program) String() string {
	var b strings.Builder
	for _, o := range p.Ops {
		b.WriteString(o.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Parse reads the text form. Errors name the line and what was expected.
func Parse(name, text string) (*Program, error) {
	p := &Program{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = strings.TrimSpace(line[:j])
		}
		if line == "" {
			continue
		}
		op, err := parseOp(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, i+1, err)
		}
		if op.Task+1 > p.Tasks {
			p.Tasks = op.Task + 1
		}
		p.Ops = append(p.Ops, op)
	}
	if p.Tasks == 0 {
		return nil, fmt.Errorf("%s: no operations", name)
	}
	return p, nil
}

func parseOp(line string) (Op, error) {
	head, rest, ok := strings.Cut(line, ":")
	var task int
	if !ok || len(head) < 2 || head[0] != 't' {
		return Op{}, fmt.Errorf("expected a task name such as %q before ':', got %q", "t1", line)
	}
	if _, err := fmt.Sscanf(head[1:], "%d", &task); err != nil || task < 1 || task > 8 || fmt.Sprint(task) != head[1:] {
		return Op{}, fmt.Errorf("expected a task t1..t8, got %q", head)
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return Op{}, fmt.Errorf("expected an operation after %q", head+":")
	}
	verb := Verb(255)
	for i, n := range verbNames {
		if n == f[0] {
			verb = Verb(i)
		}
	}
	if verb == 255 {
		return Op{}, fmt.Errorf("unknown operation %q (expected one of %s)", f[0], strings.Join(verbNames[:], ", "))
	}
	op := Op{Task: task - 1, Verb: verb}
	objs := verb.objs()
	switch {
	case len(objs) == 0 && len(f) != 1:
		return Op{}, fmt.Errorf("%s takes no object, got %q", verb, strings.Join(f[1:], " "))
	case len(objs) > 0 && len(f) != 2:
		return Op{}, fmt.Errorf("%s takes one object (%s)", verb, strings.Join(objs, " or "))
	case len(objs) > 0:
		found := false
		for _, o := range objs {
			found = found || o == f[1]
		}
		if !found {
			return Op{}, fmt.Errorf("%s takes %s, got %q", verb, strings.Join(objs, " or "), f[1])
		}
		op.Obj = f[1]
	}
	return op, nil
}
