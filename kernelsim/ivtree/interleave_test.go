package ivtree

import (
	"fmt"
	"iter"
	"slices"
)

// The machinery of the interleaving tests: a mutation run store by store, an
// unlocked iteration whose reads are the scheduling points, and a schedule
// that says at which read the mutation runs and how far.

// stepper runs a mutation one store at a time. The mutation runs in a
// coroutine (iter.Pull) that stops at every Step call, that is, just before
// each store.
type stepper struct {
	next   func() (struct{}, bool)
	stop   func()
	stores int  // stores done
	begun  bool // the mutation has run up to its first Step
	done   bool
}

func newStepper(mutate func(Step[int])) *stepper {
	seq := func(yield func(struct{}) bool) {
		live := true
		mutate(func(*Node[int], string) {
			if live && !yield(struct{}{}) {
				live = false // stopped early: run the rest without pausing
			}
		})
	}
	s := &stepper{}
	s.next, s.stop = iter.Pull(seq)
	return s
}

// advance performs k more stores (fewer if the mutation ends first).
func (s *stepper) advance(k int) {
	if !s.begun {
		s.begun = true
		if _, ok := s.next(); !ok {
			s.done = true
		}
	}
	for ; k > 0 && !s.done; k-- {
		_, ok := s.next() // the store announced last, then on to the next Step
		s.stores++
		s.done = !ok
	}
}

// finish runs the mutation to its end.
func (s *stepper) finish() {
	for !s.done {
		s.advance(1)
	}
	s.stop()
}

// schedule is where the mutation runs in an iteration: before the reader's
// read number At (counting from 0), Stores stores; before read At+Window, the
// rest. Window < 0 means never: the writer stays preempted until the reader
// is done, and runs to its end then.
type schedule struct {
	At, Stores, Window int
}

// outcome is what an unlocked iteration saw.
type outcome struct {
	visited   []*Node[int]
	reads     int
	nullDeref string // the read that dereferenced NULL, or ""
	spun      bool   // the reader exceeded the read bound
	freedRead bool   // the reader read the removed node after Remove returned
}

// readBound bounds one iteration's reads. Unperturbed iterations of the
// trees used here take well under a hundred reads.
const readBound = 5000

// runInterleaved runs an iteration of tree over [start, last] and the
// mutation under sched. removed, if not nil, is the node the mutation
// removes: once the mutation returns it counts as freed, and the reader's
// Step sees a read of it as a use after free (as the simulator will).
func runInterleaved(tree *Tree[int], start, last int, mutate func(Step[int]), removed *Node[int], sched schedule) (out outcome) {
	m := newStepper(mutate)
	defer m.finish()
	type spin struct{}
	step := func(n *Node[int], what string) {
		r := out.reads
		out.reads++
		if r == sched.At {
			m.advance(sched.Stores)
		}
		if sched.Window >= 0 && r == sched.At+sched.Window {
			m.finish()
		}
		if removed != nil && n == removed && m.done {
			out.freedRead = true
		}
		if out.reads > readBound {
			panic(spin{})
		}
	}
	defer func() {
		switch p := recover().(type) {
		case nil:
		case spin:
			out.spun = true
		case *NullDeref:
			out.nullDeref = p.What
		default:
			panic(p)
		}
	}()
	for n := tree.IterFirst(start, last, step); n != nil; n = IterNext(n, start, last, step) {
		out.visited = append(out.visited, n)
	}
	return out
}

// scenario is a tree, a mutation of it and a query.
type scenario struct {
	name        string
	build       func() (*Tree[int], []*Node[int])
	mutate      func(*Tree[int], []*Node[int]) (func(Step[int]), *Node[int])
	start, last int
}

// verdict compares what an iteration visited with the nodes that overlap
// the query both before and after the mutation (which every correct
// iteration must visit once, in order).
type verdict struct {
	skipped, revisited, disordered []int
}

func judge(before, after []*Node[int], out outcome) verdict {
	var v verdict
	for _, n := range before {
		if slices.Contains(after, n) && !slices.Contains(out.visited, n) {
			v.skipped = append(v.skipped, n.Item)
		}
	}
	for i, n := range out.visited {
		if slices.Contains(out.visited[:i], n) && !slices.Contains(v.revisited, n.Item) {
			v.revisited = append(v.revisited, n.Item)
		}
		if i > 0 && out.visited[i-1].Start > n.Start {
			v.disordered = append(v.disordered, n.Item)
		}
	}
	return v
}

// overlapping lists tree's nodes overlapping [start, last] in order.
func overlapping(tree *Tree[int], start, last int) []*Node[int] {
	var out []*Node[int]
	for _, n := range tree.InOrder() {
		if n.Start <= last && start <= n.Last {
			out = append(out, n)
		}
	}
	return out
}

// mutationStores counts the stores of a scenario's mutation.
func mutationStores(sc scenario) int {
	tree, pool := sc.build()
	mutate, _ := sc.mutate(tree, pool)
	n := 0
	mutate(func(*Node[int], string) { n++ })
	return n
}

// unperturbedReads counts the reads of a scenario's iteration alone.
func unperturbedReads(sc scenario) int {
	tree, _ := sc.build()
	n := 0
	step := func(*Node[int], string) { n++ }
	for x := tree.IterFirst(sc.start, sc.last, step); x != nil; x = IterNext(x, sc.start, sc.last, step) {
	}
	return n
}

// run builds the scenario afresh and runs it under sched.
func (sc scenario) run(sched schedule) (outcome, verdict, []int) {
	tree, pool := sc.build()
	before := overlapping(tree, sc.start, sc.last)
	mutate, removed := sc.mutate(tree, pool)
	out := runInterleaved(tree, sc.start, sc.last, mutate, removed, sched)
	if err := tree.Verify(); err != nil {
		panic(fmt.Sprintf("%s: the mutation left a broken tree: %v", sc.name, err))
	}
	return out, judge(before, overlapping(tree, sc.start, sc.last), out), items(out.visited)
}

// buildTree inserts [start, last] pairs into a fresh tree; node i's Item is i.
func buildTree(keys ...[2]int) (*Tree[int], []*Node[int]) {
	var tree Tree[int]
	pool := make([]*Node[int], len(keys)+1)
	for i := range pool {
		pool[i] = &Node[int]{Item: i}
	}
	for i, k := range keys {
		pool[i].Start, pool[i].Last = k[0], k[1]
		tree.Insert(pool[i], nil)
	}
	return &tree, pool
}
