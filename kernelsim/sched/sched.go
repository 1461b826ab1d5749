// Package sched runs the tasks of a simulated kernel program as real
// goroutines and decides, at every scheduling point, which one runs next.
//
// In controlled mode exactly one task runs at a time. The running task holds
// the baton; at a scheduling point it asks the Strategy for the next task and
// hands the baton to it directly (one channel hand-off, no scheduler
// goroutine in between). Given the same program and strategy input, a run is
// bit-for-bit repeatable, and its decisions serialize to a replay string.
//
// In free mode the same tasks run truly in parallel; scheduling points only
// count steps, record the trace and optionally yield.
//
// # Recording events
//
// Every scheduling point and note becomes an Event of the run's Trace, whose
// object and detail are text. Point, Record and Amend take that text as
// strings, made by the caller before the call even when nobody will read the
// trace. PointF, RecordF and AmendF take a Text instead: plain parts cost
// what strings cost, and formatted parts keep their operands typed and are
// made into text only when the trace is printed, hashed or shown. Converting
// a call site keeps its text, so the trace prints and hashes as before:
//
//	t.Point(sched.KindWrite, fmt.Sprintf("pte %s %#x", m.name, addr), site, old.String()+" -> "+pte.String())
//
// becomes
//
//	t.PointF(sched.KindWrite, site, sched.Objf("pte %s %#x").S(m.name).N(addr).Detailf("%v -> %v").V(old).V(pte))
//
// and a lock's plain text
//
//	t.PointF(sched.KindAcquire, site, sched.Obj(r.name).Detail("write"))
//
// Code that reads a trace reads Event.ObjText and Event.DetailText (or
// AppendObj and AppendDetail, which allocate nothing): Event.Obj and
// Event.Detail hold only the plain parts. See Text for the verbs and the
// operand budget.
//
// # Reusing goroutines
//
// A run starts a goroutine per task, or borrows them from a Pool
// (Options.Pool), which keeps them, and their grown stacks, for the next run
// of the same worker; a controlled run of one task (a harness's setup,
// check and exit phases) runs it on the goroutine that called Run and hands
// the baton to no other goroutine. Nothing else carries over: the run's
// decisions, trace and verdict are the same either way.
package sched

import (
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Mode selects controlled or free scheduling.
type Mode uint8

// The scheduling modes.
const (
	Controlled Mode = iota // one task at a time, chosen by a Strategy; repeatable
	Free                   // truly parallel; not repeatable
)

func (m Mode) String() string {
	if m == Free {
		return "free"
	}
	return "controlled"
}

// Options configure one run.
type Options struct {
	Mode     Mode
	Strategy Strategy      // controlled mode; default NewRandom(1)
	MaxSteps int           // scheduling points before the run ends with StepLimit; default 50,000
	Timeout  time.Duration // wall-clock watchdog; default 2s (well under go test -fuzz's 10s)
	// YieldOneIn makes a free-mode task call runtime.Gosched at one scheduling
	// point in YieldOneIn on average; 0 never yields.
	YieldOneIn int
	Seed       uint64 // seeds free-mode yields and data choices
	NoTrace    bool   // do not record events (benchmarks of the bare mechanism)
	// Trace, when set, is where the run records its events: it appends
	// them to Trace.Events (after the events of earlier runs, as a harness
	// run does with its setup, concurrent and exit phases), and
	// Result.Trace holds this run's events alone. nil gives the run a
	// trace of its own.
	Trace *Trace
	// Pool, when set, lends the run its task goroutines (see Pool); nil
	// starts a goroutine per task.
	Pool *Pool
	// DeadlockAfter is how long a free-mode run may have every live task
	// blocked before the watchdog calls it a deadlock; default 20ms.
	DeadlockAfter time.Duration
}

// Defaults for Options.
const (
	DefaultMaxSteps = 50_000
	DefaultTimeout  = 2 * time.Second
)

// Result is what a run produced.
type Result struct {
	Verdict  Verdict
	Steps    int
	Trace    Trace
	Schedule Schedule // the decisions of a controlled run
}

// ReplayString returns the replay string of a controlled run.
func (r *Result) ReplayString() string { return r.Schedule.String() }

// Sched is one run: its tasks, its strategy and its trace. Create it with
// New, add tasks with Spawn, then call Run once.
type Sched struct {
	opts      Options
	tasks     []*Task
	strat     Strategy
	step      int
	runnable  []int
	tr        *Trace // Options.Trace, or own
	base      int    // where this run's events begin in tr.Events
	decisions Schedule
	verdict   Verdict
	aborted   bool // controlled mode: read and written by the baton holder only
	live      int
	start     time.Time
	ran       bool

	runnerWake chan struct{}

	// free mode
	mu        sync.Mutex // guards trace, step, verdict and blocked bookkeeping
	abortFlag atomic.Bool
	abortCh   chan struct{}
	abortOnce sync.Once
	progress  atomic.Int64
	nblocked  int
	wg        sync.WaitGroup
	exited    sync.WaitGroup // every task goroutine, both modes

	// Storage for the common small run, so that it needs no allocation
	// of its own: tasks, runnable indexes, the trace header.
	own         Trace
	taskArr     [4]Task
	taskPtrs    [4]*Task
	runnableArr [maxTaskID + 1]int
}

// New returns a run with the given options and no tasks.
func New(opts Options) *Sched {
	if opts.MaxSteps <= 0 {
		opts.MaxSteps = DefaultMaxSteps
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.DeadlockAfter <= 0 {
		opts.DeadlockAfter = 20 * time.Millisecond
	}
	if opts.Strategy == nil {
		opts.Strategy = NewRandom(1)
	}
	s := &Sched{opts: opts, strat: opts.Strategy, runnerWake: make(chan struct{}, 1), tr: opts.Trace}
	if s.tr == nil {
		s.tr = &s.own
	}
	s.tasks, s.runnable = s.taskPtrs[:0], s.runnableArr[:0]
	return s
}

// Mode returns the run's scheduling mode.
func (s *Sched) Mode() Mode { return s.opts.Mode }

// Spawn adds a task running fn. Tasks are numbered in spawn order (t1, t2, ...).
func (s *Sched) Spawn(fn func(*Task)) *Task {
	if s.ran {
		panic(internalPrefix + "Spawn after Run")
	}
	id := len(s.tasks)
	if id > maxTaskID {
		panic(fmt.Sprintf(internalPrefix+"at most %d tasks per run", maxTaskID+1))
	}
	var t *Task
	if id < len(s.taskArr) {
		t = &s.taskArr[id]
	} else {
		t = new(Task)
	}
	*t = Task{s: s, id: id, fn: fn}
	if s.opts.Mode == Free {
		t.rng = rand.New(rand.NewPCG(s.opts.Seed, uint64(id)))
	}
	s.tasks = append(s.tasks, t)
	return t
}

// Tasks returns the number of tasks.
func (s *Sched) Tasks() int { return len(s.tasks) }

// Task returns task i.
func (s *Sched) Task(i int) *Task { return s.tasks[i] }

// Run runs every task to completion or until the run is ended early by a
// violation, a deadlock, the step limit or the watchdog. Every task goroutine
// has exited when Run returns.
func (s *Sched) Run() Result {
	if s.ran {
		panic(internalPrefix + "Run called twice")
	}
	s.ran = true
	s.start = time.Now()
	s.base = len(s.tr.Events)
	if !s.opts.NoTrace && cap(s.tr.Events) == 0 {
		s.tr.Events = make([]Event, 0, 256) // a run's own trace; a harness run brings one
	}
	if s.opts.Mode == Free {
		s.runFree()
	} else {
		s.runControlled()
	}
	s.exited.Wait()
	if s.opts.Pool != nil {
		for _, t := range s.tasks {
			if t.w != nil {
				s.opts.Pool.put(t.w)
			}
		}
	}
	evs := s.tr.Events[s.base:len(s.tr.Events):len(s.tr.Events)]
	return Result{Verdict: s.verdict, Steps: s.step, Trace: Trace{Events: evs}, Schedule: s.decisions}
}

// launch starts the goroutines of tasks[from:]: borrowed from the pool, or
// fresh. Every task's hand-off channel exists before any task runs. In
// controlled mode a task's goroutine waits for its first wake before it
// runs main; a pooled goroutine waits in the pool's loop, so launching it
// wakes no goroutine.
func (s *Sched) launch(from int) {
	tasks := s.tasks[from:]
	s.exited.Add(len(tasks))
	if p := s.opts.Pool; p != nil {
		for _, t := range tasks {
			t.w = p.get()
			t.w.task, t.wake = t, t.w.wake
		}
		if s.opts.Mode == Free {
			for _, t := range tasks {
				// A free-mode task parks on a channel of its own: an
				// Unpark racing with the run's abort (the parked task
				// unwinds, the token stays) must not reach the worker,
				// whose loop would run the finished task again (stress
				// found it: a negative WaitGroup counter).
				t.wake = make(chan struct{}, 1)
				t.w.wake <- struct{}{} // free-mode tasks start at once
			}
		}
		return
	}
	for _, t := range tasks {
		t.wake = make(chan struct{}, 1)
	}
	for _, t := range tasks {
		go func() {
			defer s.exited.Done() // last: the goroutine is really gone when Run returns
			if s.opts.Mode == Controlled {
				<-t.wake
			}
			t.main()
		}()
	}
}

// runControlled runs a controlled run. The goroutine that called Run is the
// runner; in a run of one task (a harness's setup, check and exit phases)
// it is that task as well, its wake channel the task's hand-off channel, so
// the run hands the baton to no other goroutine. A token on runnerWake wakes
// that task while it has not finished and the runner's own code once it
// has. In a run of several tasks the runner only starts the run and unwinds
// it: running task 1 on the runner there too measured no faster in whole
// executions and about a tenth slower per point in BenchmarkSchedPoint.
func (s *Sched) runControlled() {
	n := len(s.tasks)
	s.strat.Reset(n)
	s.live = n
	if n == 0 {
		return
	}
	inline := n == 1
	if inline {
		s.tasks[0].wake = s.runnerWake
		s.launch(1)
	} else {
		s.launch(0)
	}
	first := s.pick(-1)
	switch {
	case inline:
		if first < 0 {
			s.aborted = true
			first = 0 // the task unwinds at once
		}
		s.tasks[first].wake <- struct{}{}
		s.runInline(s.tasks[0])
		<-s.runnerWake // the task has returned or unwound
	case first < 0:
		s.aborted = true
	default:
		s.tasks[first].wake <- struct{}{}
		<-s.runnerWake // the run has ended: every task has returned, or one ended it
	}
	// Unwind every task that has not returned, one at a time, so that the
	// unwinding goroutines never run concurrently.
	if s.live > 0 {
		s.aborted = true
		for _, t := range s.tasks {
			if t.state != stDone {
				t.wake <- struct{}{}
				<-s.runnerWake
			}
		}
	}
}

// runInline runs task t on the runner's goroutine, from its first wake on.
// Should t end that goroutine (runtime.Goexit, as testing.T.FailNow does),
// Run does not return, as for any function that calls runtime.Goexit; t is
// the run's only task, so no other is left behind.
func (s *Sched) runInline(t *Task) {
	<-t.wake // picked, or told to unwind
	t.main()
}

// pick asks the strategy for the next task among the runnable ones. cur is
// the task at the scheduling point, or -1. It returns -1 when no task is
// runnable and -2 after recording an internal-error verdict when the
// strategy answered something impossible.
func (s *Sched) pick(cur int) int {
	r := s.runnable[:0]
	for i, t := range s.tasks {
		if t.state == stRunnable {
			r = append(r, i)
		}
	}
	s.runnable = r
	if len(r) == 0 {
		return -1
	}
	next := s.strat.Next(r, cur, s.step)
	if len(r) > 1 {
		if !slices.Contains(r, next) {
			detail := fmt.Sprintf("strategy picked task %d, runnable %v", next, r)
			if e, ok := s.strat.(interface{ Err() error }); ok && e.Err() != nil {
				detail = e.Err().Error()
			}
			s.fail(Verdict{Outcome: Internal, Violation: Violation{Invariant: InvInternal, Task: cur, Step: s.step, Detail: internalPrefix + detail}})
			return -2
		}
		s.decide(Decision{Value: next})
	}
	return next
}

// fail records the first verdict of the run and marks the run aborted.
func (s *Sched) fail(v Verdict) {
	if s.opts.Mode == Free {
		s.mu.Lock()
		if s.verdict.Outcome == OK {
			s.verdict = v
		}
		s.mu.Unlock()
		s.abortFlag.Store(true)
		s.abortOnce.Do(func() { close(s.abortCh) })
		return
	}
	if s.verdict.Outcome == OK {
		s.verdict = v
	}
	s.aborted = true
}

// decide appends a decision to the run's schedule.
func (s *Sched) decide(d Decision) {
	if s.decisions == nil {
		s.decisions = make(Schedule, 0, 64)
	}
	s.decisions = append(s.decisions, d)
}

// record appends an event at the current step (controlled mode, or free
// mode under s.mu).
func (s *Sched) record(t *Task, kind Kind, obj, site, detail string) {
	if s.opts.NoTrace {
		return
	}
	s.tr.Events = append(s.tr.Events, Event{Step: s.at(), Task: t.id, Kind: kind, Obj: obj, Site: site, Detail: detail})
}

// recordText is record for a Text: its plain parts go to Obj and Detail,
// its typed parts are kept.
func (s *Sched) recordText(t *Task, kind Kind, site string, x *Text) {
	if s.opts.NoTrace {
		return
	}
	e := Event{Step: s.at(), Task: t.id, Kind: kind, Site: site}
	if x.typed() {
		e.x = s.keep(x)
	}
	if !x.objF {
		e.Obj = x.obj
	}
	if !x.detF {
		e.Detail = x.det
	}
	s.tr.Events = append(s.tr.Events, e)
}

// keep stores the typed parts of an event and returns where they are. They
// live in chunks that are never moved, and reused only after Trace.Reset,
// so an Event copied out of the trace stays valid until then; each chunk
// is twice the size of the last, so the allocations are amortised like a
// slice's growth.
func (s *Sched) keep(x *Text) *Text {
	tr := s.tr // the chunk is the trace's: the runs recording into one trace share it
	if len(tr.texts) == cap(tr.texts) {
		if tr.used < len(tr.chunks) {
			tr.texts = tr.chunks[tr.used][:0] // after Reset
		} else {
			tr.texts = make([]Text, 0, max(2*cap(tr.texts), 8))
			tr.chunks = append(tr.chunks, tr.texts)
		}
		tr.used++
	}
	tr.texts = append(tr.texts, *x)
	return &tr.texts[len(tr.texts)-1]
}

// at is the step of an event recorded now: the global step in controlled
// mode, the event's index in free mode.
func (s *Sched) at() int {
	if s.opts.Mode == Free {
		return len(s.tr.Events) - s.base
	}
	return s.step
}

// amend sets the detail of t's most recent event of this run (under s.mu
// in free mode).
func (s *Sched) amend(t *Task, detail string, x *Text) {
	for i := len(s.tr.Events) - 1; i >= s.base; i-- {
		e := &s.tr.Events[i]
		if e.Task != t.id {
			continue
		}
		switch {
		case x != nil && x.detF:
			if e.x == nil {
				e.x = s.keep(&Text{obj: e.Obj})
			}
			e.x.setDetail(x)
			e.Detail = ""
		case e.x != nil:
			e.x.setDetail(&Text{det: detail, split: true})
			e.Detail = detail
		default:
			e.Detail = detail
		}
		return
	}
}

// unwind is the panic value that unwinds a task goroutine when its run ends
// early. It never escapes the task goroutine.
type unwind struct{}

func internalPanic(t *Task, r any) Verdict {
	return Verdict{Outcome: Internal, Violation: Violation{
		Invariant: InvInternal, Task: t.id, Step: t.s.step,
		Detail: fmt.Sprintf("%spanic in %s: %v\n%s", internalPrefix, t.Name(), r, debug.Stack()),
	}}
}

func (s *Sched) runFree() {
	s.live = len(s.tasks)
	stop := make(chan struct{})
	var watch sync.WaitGroup
	watch.Add(1)
	go func() { defer watch.Done(); s.watchdog(stop) }()
	s.abortCh = make(chan struct{})
	s.wg.Add(len(s.tasks))
	s.launch(0)
	s.wg.Wait()
	close(stop)
	watch.Wait()
	s.step = int(s.progress.Load())
}

// watchdog ends a free-mode run on deadlock (every live task blocked with no
// progress for DeadlockAfter) and on timeout.
func (s *Sched) watchdog(stop <-chan struct{}) {
	tick := time.NewTicker(s.opts.DeadlockAfter / 2)
	defer tick.Stop()
	last, stuck := int64(-1), 0
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		if time.Since(s.start) > s.opts.Timeout {
			s.fail(Verdict{Outcome: Timeout, Violation: Violation{Invariant: "timeout", Task: -1, Step: int(s.progress.Load()), Detail: fmt.Sprintf("wall-clock watchdog fired after %v", s.opts.Timeout)}})
			return
		}
		s.mu.Lock()
		allBlocked := s.live > 0 && s.nblocked == s.live
		for _, t := range s.tasks {
			if t.blockedOn != nil && len(t.wake) > 0 {
				// Granted and woken, not yet back on a CPU (a loaded
				// machine, the race detector): runnable, not blocked.
				// Stress under -race found the false deadlock "t3 →
				// i_mmap_rwsem → t3" of a task the lock was already
				// handed to.
				allBlocked = false
			}
		}
		s.mu.Unlock()
		p := s.progress.Load()
		if allBlocked && p == last {
			stuck++
		} else {
			stuck = 0
		}
		last = p
		if stuck >= 2 {
			v := s.deadlockViolation(-1)
			s.fail(Verdict{Outcome: Deadlock, Violation: v})
			return
		}
	}
}

// Elapsed returns the wall-clock time since Run began.
func (s *Sched) Elapsed() time.Duration { return time.Since(s.start) }
