package sched

import "sync"

// Pool keeps task goroutines between runs. A run given a Pool
// (Options.Pool) borrows a goroutine from it for every task (but for the
// task of a controlled run of one task, which runs on the goroutine that
// called Run) and gives them back when it returns, so a goroutine's stack,
// grown by the deep kernel paths of one run, stays grown for the next
// instead of growing again in a fresh goroutine every run. A run without a
// Pool starts fresh goroutines.
//
// Reuse changes nothing a run can see: a borrowed goroutine only runs the
// task it was handed, a task still has exited (returned or been unwound)
// when Run returns, and the hand-off channel it brings is drained before it
// goes back. The decisions, trace hashes and replay strings of a run are the
// same with or without a Pool.
//
// A Pool is safe for concurrent runs, but one per worker goroutine (as
// stress and harness.Search use it) avoids sharing. Its goroutines outlive
// the runs: call Close when no run is using it any more, which ends them
// and waits for them (tests check with goleak that every Pool is closed).
type Pool struct {
	mu      sync.Mutex
	idle    []*worker
	closed  bool
	live    sync.WaitGroup
	started int // goroutines started in all
}

// worker is one pooled goroutine. Idle, it waits on wake; a run that
// borrows it sets task and makes wake the task's hand-off channel, so the
// task's first wake (the baton, or in free mode the start) starts it. A
// wake with no task ends the goroutine (Close).
type worker struct {
	wake chan struct{} // the task's hand-off channel (Task.wake), kept across runs
	task *Task         // set by the borrowing run before any wake
	lost bool          // the last task ended with runtime.Goexit, which ended the goroutine too
}

// NewPool returns an empty pool; it starts goroutines as runs need them.
func NewPool() *Pool { return &Pool{} }

// Close ends the pool's goroutines and waits until they have exited. A run
// still using the pool keeps its goroutines until it returns; Close waits
// for that too. A run given a closed pool panics.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	for _, w := range p.idle {
		w.task = nil
		w.wake <- struct{}{} // the end: wake with no task
	}
	p.idle = nil
	p.mu.Unlock()
	p.live.Wait()
}

// Started returns how many goroutines the pool has started in all.
func (p *Pool) Started() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started
}

// get returns an idle worker, or a new one.
func (p *Pool) get() *worker {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		panic(internalPrefix + "sched: a run was given a closed Pool")
	}
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle = p.idle[:n-1]
		return w
	}
	w := &worker{wake: make(chan struct{}, 1)}
	p.started++
	p.live.Add(1)
	go w.loop(&p.live)
	return w
}

// put gives back a worker whose task has exited.
func (p *Pool) put(w *worker) {
	select {
	case <-w.wake: // free mode: an Unpark that raced with the end of the run
	default:
	}
	w.task = nil
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case w.lost:
	case p.closed:
		w.wake <- struct{}{} // the end
	default:
		p.idle = append(p.idle, w)
	}
}

func (w *worker) loop(live *sync.WaitGroup) {
	defer live.Done()
	for {
		<-w.wake
		t := w.task
		if t == nil {
			return
		}
		if w.run(t); w.lost {
			return
		}
	}
}

// run runs one task and reports its exit to its run, marking the worker
// lost if the task called runtime.Goexit (which unwinds this goroutine past
// the loop). The mark is made before the run learns that the task exited,
// so the run never gives a lost worker back.
func (w *worker) run(t *Task) {
	returned := false
	defer func() {
		w.lost = !returned
		t.s.exited.Done()
	}()
	t.main()
	returned = true
}
