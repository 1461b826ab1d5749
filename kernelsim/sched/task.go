package sched

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"time"
)

type taskState uint8

const (
	stRunnable taskState = iota
	stBlocked
	stDone
)

// Task is one simulated thread: a goroutine running its op list. Every method
// is called from the task's own goroutine, except Unpark, which is called by
// the task that releases what the parked task waits for.
type Task struct {
	s         *Sched
	id        int
	fn        func(*Task)
	wake      chan struct{}
	state     taskState // controlled mode; baton holder only
	blockedOn Waitable  // controlled: baton holder; free: under s.mu
	rng       *rand.Rand
	watch     func()  // run after each of this task's scheduling points
	atPoint   func()  // run once at the task's next Point (AtNextPoint)
	w         *worker // the pooled goroutine running the task, or nil
}

// SetWatch makes fn run each time the task passes a scheduling point, once
// the other tasks that ran meanwhile have done their work: model code uses
// it to check that what it relies on across points (an object it holds no
// reference on) is still alive. nil removes it.
func (t *Task) SetWatch(fn func()) { t.watch = fn }

// Waitable is anything a task can block on. Holders appends the tasks whose
// progress the waiter needs (the lock's owners) to buf; it is used to print
// the wait-for cycle of a deadlock.
type Waitable interface {
	Name() string
	Holders(buf []int) []int
}

// ID returns the task index (0-based).
func (t *Task) ID() int { return t.id }

// Name returns the printable task name (t1, t2, ...).
func (t *Task) Name() string { return TaskName(t.id) }

// Sched returns the run the task belongs to.
func (t *Task) Sched() *Sched { return t.s }

// Step returns the current global step number.
func (t *Task) Step() int {
	if t.s.opts.Mode == Free {
		return int(t.s.progress.Load())
	}
	return t.s.step
}

// main is the body of the task's goroutine. In controlled mode its caller
// has received the task's first wake (the baton, or the order to unwind);
// it reports the exit to s.exited once main has returned.
func (t *Task) main() {
	s := t.s
	defer func() { t.finish(recover()) }()
	if s.opts.Mode == Controlled && s.aborted {
		panic(unwind{})
	}
	t.Record(KindStart, "", "", "")
	t.fn(t)
}

func (t *Task) finish(r any) {
	s := t.s
	if r != nil {
		if _, ok := r.(unwind); !ok {
			s.fail(internalPanic(t, r))
		}
	}
	if s.opts.Mode == Free {
		if r == nil {
			t.Record(KindExit, "", "", "")
		}
		s.mu.Lock()
		s.live--
		s.mu.Unlock()
		s.progress.Add(1)
		s.wg.Done()
		return
	}
	t.state, t.blockedOn = stDone, nil
	s.live--
	if s.aborted {
		s.runnerWake <- struct{}{}
		return
	}
	// A normal return is a scheduling point: the strategy picks who runs next.
	s.record(t, KindExit, "", "", "")
	s.step++
	switch next := s.pick(-1); {
	case next >= 0:
		s.tasks[next].wake <- struct{}{}
	case next == -1 && s.live > 0:
		s.fail(Verdict{Outcome: Deadlock, Violation: s.deadlockViolation(-1)})
		s.runnerWake <- struct{}{}
	default:
		s.runnerWake <- struct{}{}
	}
}

// Point is a scheduling point: the task announces the event it is about to
// perform, the strategy decides who runs, and when this task runs again the
// event is recorded at the current step and the task proceeds. Everything the
// task does until its next Point is atomic with respect to the other tasks.
func (t *Task) Point(kind Kind, obj, site, detail string) {
	if t.atPoint != nil {
		t.runAtPoint()
	}
	s := t.s
	if s.opts.Mode == Free {
		t.freeReach()
		t.Record(kind, obj, site, detail)
		t.freePass()
		return
	}
	t.reach()
	s.record(t, kind, obj, site, detail)
	s.step++
	if t.watch != nil {
		t.watch()
	}
}

// Yield is Point for a task that spins: it retries an access that can
// succeed only after another task acts (see Yielder), so the strategy is
// told before it picks. In free mode it is Point.
func (t *Task) Yield(kind Kind, obj, site, detail string) {
	if y, ok := t.s.strat.(Yielder); ok && t.s.opts.Mode != Free {
		y.Yielded(t.id)
	}
	t.Point(kind, obj, site, detail)
}

// PointF is Point with the object and detail given as a Text, whose typed
// parts become text only when the trace is read.
func (t *Task) PointF(kind Kind, site string, x *Text) {
	if t.atPoint != nil {
		t.runAtPoint()
	}
	s := t.s
	if s.opts.Mode == Free {
		t.freeReach()
		t.RecordF(kind, site, x)
		t.freePass()
		return
	}
	t.reach()
	s.recordText(t, kind, site, x)
	s.step++
	if t.watch != nil {
		t.watch()
	}
}

// reach is a controlled scheduling point up to the recording of its event:
// the end-of-run checks, the strategy's pick and the hand-off. It returns
// when this task holds the baton again.
func (t *Task) reach() {
	s := t.s
	if s.aborted {
		panic(unwind{})
	}
	if s.step >= s.opts.MaxSteps {
		s.fail(Verdict{Outcome: StepLimit, Violation: Violation{Invariant: "step-limit", Task: t.id, Step: s.step, Detail: fmt.Sprintf("run exceeded %d scheduling points", s.opts.MaxSteps)}})
		panic(unwind{})
	}
	if s.step&63 == 63 && time.Since(s.start) > s.opts.Timeout {
		s.fail(Verdict{Outcome: Timeout, Violation: Violation{Invariant: "timeout", Task: t.id, Step: s.step, Detail: fmt.Sprintf("wall-clock watchdog fired after %v", s.opts.Timeout)}})
		panic(unwind{})
	}
	next := s.pick(t.id)
	if next == -2 {
		panic(unwind{})
	}
	if next != t.id {
		s.tasks[next].wake <- struct{}{}
		<-t.wake
		if s.aborted {
			panic(unwind{})
		}
	}
}

// freeReach is a free-mode scheduling point up to the recording of its
// event; freePass is the rest.
func (t *Task) freeReach() {
	s := t.s
	if s.abortFlag.Load() {
		panic(unwind{})
	}
	p := int(s.progress.Add(1))
	if p > s.opts.MaxSteps {
		s.fail(Verdict{Outcome: StepLimit, Violation: Violation{Invariant: "step-limit", Task: t.id, Step: p, Detail: fmt.Sprintf("run exceeded %d scheduling points", s.opts.MaxSteps)}})
		panic(unwind{})
	}
}

func (t *Task) freePass() {
	s := t.s
	if s.opts.YieldOneIn > 0 && t.rng.IntN(s.opts.YieldOneIn) == 0 {
		runtime.Gosched()
	}
	if t.watch != nil {
		t.watch()
	}
}

// Record appends an event that is not a scheduling point (a note, a result
// detail, a granted lock).
func (t *Task) Record(kind Kind, obj, site, detail string) {
	s := t.s
	if s.opts.NoTrace {
		return
	}
	if s.opts.Mode == Free {
		s.mu.Lock()
		s.record(t, kind, obj, site, detail)
		s.mu.Unlock()
		return
	}
	s.record(t, kind, obj, site, detail)
}

// RecordF is Record with the object and detail given as a Text.
func (t *Task) RecordF(kind Kind, site string, x *Text) {
	s := t.s
	if s.opts.NoTrace {
		return
	}
	if s.opts.Mode == Free {
		s.mu.Lock()
		s.recordText(t, kind, site, x)
		s.mu.Unlock()
		return
	}
	s.recordText(t, kind, site, x)
}

// Amend sets the detail of the task's most recent event, typically the
// outcome of the operation its last Point announced (trylock ok / failed).
func (t *Task) Amend(detail string) {
	s := t.s
	if s.opts.NoTrace {
		return
	}
	if s.opts.Mode == Free {
		s.mu.Lock()
		defer s.mu.Unlock()
	}
	s.amend(t, detail, nil)
}

// AmendF is Amend with the detail given as a Text (made by Detail or
// Detailf; an object it names is ignored).
func (t *Task) AmendF(x *Text) {
	s := t.s
	if s.opts.NoTrace {
		return
	}
	if s.opts.Mode == Free {
		s.mu.Lock()
		defer s.mu.Unlock()
	}
	if x.detF {
		s.amend(t, "", x)
	} else {
		s.amend(t, x.det, nil)
	}
}

// Park blocks the task until another task calls Unpark on it. The caller must
// already have made itself findable by the releaser (queued on the lock) and
// must park at most once per Unpark. While parked the task is not runnable;
// when no task is runnable the run ends as a deadlock with the wait-for cycle.
func (t *Task) Park(on Waitable) {
	s := t.s
	if s.opts.Mode == Free {
		s.mu.Lock()
		t.blockedOn = on
		s.nblocked++
		s.mu.Unlock()
		t.Record(KindBlock, on.Name(), "", "")
		select {
		case <-t.wake:
		case <-s.abortCh:
			panic(unwind{})
		}
		s.mu.Lock()
		t.blockedOn = nil
		s.nblocked--
		s.mu.Unlock()
		s.progress.Add(1)
		return
	}
	t.state, t.blockedOn = stBlocked, on
	s.record(t, KindBlock, on.Name(), "", "")
	switch next := s.pick(-1); {
	case next >= 0:
		s.tasks[next].wake <- struct{}{}
	case next == -1:
		s.fail(Verdict{Outcome: Deadlock, Violation: s.deadlockViolation(t.id)})
		s.runnerWake <- struct{}{}
	default:
		s.runnerWake <- struct{}{}
	}
	<-t.wake
	if s.aborted {
		panic(unwind{})
	}
}

// Unpark makes a parked task runnable again. It is called by the task that
// released what w waits for, exactly once per Park of w.
func (t *Task) Unpark(w *Task) {
	if t.s.opts.Mode == Free {
		w.wake <- struct{}{}
		return
	}
	w.state, w.blockedOn = stRunnable, nil
}

// Choose returns a data choice in [0, n), decided by the strategy in
// controlled mode (and so recorded in the replay string) and at random in
// free mode. what names the choice in the trace (for example "alloc pte
// table fails").
func (t *Task) Choose(n int, what string) int {
	if n < 2 {
		return 0
	}
	s := t.s
	var v int
	if s.opts.Mode == Free {
		v = t.rng.IntN(n)
	} else {
		if s.aborted {
			panic(unwind{})
		}
		v = s.strat.Choose(n)
		if e, ok := s.strat.(interface{ Err() error }); ok && e.Err() != nil {
			t.Internal("%s", e.Err().Error())
		}
		if v < 0 || v >= n {
			t.Internal("strategy chose %d of %d", v, n)
		}
		s.decide(Decision{Data: true, Value: v})
	}
	t.Record(KindChoice, what, "", choiceText(v, n))
	return v
}

// Fail reports a violation found by this task and ends the run: every task
// is unwound and Run returns a Failed verdict carrying v.
func (t *Task) Fail(v Violation) {
	v.Task, v.Step = t.id, t.Step()
	t.s.fail(Verdict{Outcome: Failed, Violation: v})
	panic(unwind{})
}

// Internal reports an internal error of the harness found by this task (a
// sanity check of the simulator's own bookkeeping failed) and ends the run
// with outcome Internal. It is never a finding about the kernel: a check
// that mirrors a kernel BUG_ON is a violation (Fail), not this.
func (t *Task) Internal(format string, args ...any) {
	t.s.fail(Verdict{Outcome: Internal, Violation: Violation{Invariant: InvInternal, Task: t.id, Step: t.Step(), Detail: internalPrefix + fmt.Sprintf(format, args...)}})
	panic(unwind{})
}

// Aborting reports whether the run is ending; model code running deferred
// clean-ups during unwinding can use it to skip work.
func (t *Task) Aborting() bool {
	if t.s.opts.Mode == Free {
		return t.s.abortFlag.Load()
	}
	return t.s.aborted
}

// choiceText is the detail of a choice event, "v of n", without an
// allocation for the small choices the model makes.
func choiceText(v, n int) string {
	if n < len(choiceTexts) {
		return choiceTexts[n][v]
	}
	return strconv.Itoa(v) + " of " + strconv.Itoa(n)
}

var choiceTexts = func() (t [17][]string) {
	for n := range t {
		for v := 0; v < n; v++ {
			t[n] = append(t[n], strconv.Itoa(v)+" of "+strconv.Itoa(n))
		}
	}
	return t
}()
