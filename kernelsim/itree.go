package kernelsim

import (
	"mmrace/kernelsim/ivtree"
)

// ITree is one of the kernel's interval trees (anon_vma->rb_root of AVCs,
// mapping->i_mmap of VMAs), with two faces:
//
//   - the physical tree: the kernel's augmented rbtree (package ivtree),
//     changed store by store by Insert, InsertAfter and Remove and walked
//     node by node by IterFirst/IterNext exactly as the kernel's
//     interval_tree_iter_first/next do, so a walker that does not hold the
//     tree's lock can skip nodes, revisit nodes or resume on an erased one;
//   - the logical order: the items in iteration order (ascending start, ties
//     in insertion order, insert_after right after its prev), updated when a
//     mutation completes. Only the checkers and the model's rule checks read
//     it (Items, Overlapping, Key, Contains, After), never a simulated
//     kernel path, so they see the tree's meaning and not a half-done
//     rotation.
//
// The caller holds the rmap lock: W to modify, R or W to walk (asserted by
// the model's callers, not here).
type ITree[T comparable] struct {
	phys  ivtree.Tree[T]
	order []itNode[T]
	seq   uint64
	node  func(T) *ivtree.Node[T] // the item's embedded rb node (avc->rb, vma->shared.rb)
}

type itNode[T comparable] struct {
	start, last int
	item        T
}

// newITree returns an empty tree whose items keep their rb node where node
// says.
func newITree[T comparable](node func(T) *ivtree.Node[T]) ITree[T] {
	return ITree[T]{node: node}
}

// Insert adds item with key [start, last] (interval_tree_insert): in the
// physical tree through step, then after every node whose start is not
// greater in the logical order.
func (it *ITree[T]) Insert(item T, start, last int, step ivtree.Step[T]) {
	n := it.node(item)
	n.Start, n.Last, n.Item = start, last, item
	it.phys.Insert(n, step)
	i := len(it.order)
	for i > 0 && it.order[i-1].start > start {
		i--
	}
	it.insertAt(i, itNode[T]{start: start, last: last, item: item})
}

// InsertAfter adds item right after prev with key [start, last], as
// vma_interval_tree_insert_after() does for fork (prev has the same start).
func (it *ITree[T]) InsertAfter(item, prev T, start, last int, step ivtree.Step[T]) {
	n := it.node(item)
	n.Start, n.Last, n.Item = start, last, item
	it.phys.InsertAfter(n, it.node(prev), step)
	for i, o := range it.order {
		if o.item == prev {
			it.insertAt(i+1, itNode[T]{start: start, last: last, item: item})
			return
		}
	}
	panic("mmrace internal error: ITree.InsertAfter: prev is not in the tree")
}

func (it *ITree[T]) insertAt(i int, n itNode[T]) {
	it.seq++
	it.order = append(it.order, n)
	copy(it.order[i+1:], it.order[i:])
	it.order[i] = n
}

// Remove deletes item (interval_tree_remove); it reports whether it was
// there.
func (it *ITree[T]) Remove(item T, step ivtree.Step[T]) bool {
	if !it.Contains(item) {
		return false
	}
	it.phys.Remove(it.node(item), step)
	// Look again: the step hook may have let another writer change the
	// logical order meanwhile (only where the tree's lock was left out).
	for i, o := range it.order {
		if o.item == item {
			it.order = append(it.order[:i], it.order[i+1:]...)
			break
		}
	}
	return true
}

// IterFirst is interval_tree_iter_first on the physical tree: the first
// node overlapping [first, last], or nil. step announces each read.
func (it *ITree[T]) IterFirst(first, last int, step ivtree.Step[T]) *ivtree.Node[T] {
	return it.phys.IterFirst(first, last, step)
}

// Verify checks the physical tree (red-black rules, augmented values,
// links) and that its in-order items are the logical order's.
func (it *ITree[T]) Verify() error {
	if err := it.phys.Verify(); err != nil {
		return err
	}
	in := it.phys.InOrder()
	if len(in) != len(it.order) {
		return errOrder
	}
	for i, n := range in {
		if n.Item != it.order[i].item || n.Start != it.order[i].start || n.Last != it.order[i].last {
			return errOrder
		}
	}
	return nil
}

type orderError struct{}

func (orderError) Error() string {
	return "the rbtree's in-order nodes differ from the tree's logical order"
}

var errOrder error = orderError{}

// Contains reports whether item is in the tree.
func (it *ITree[T]) Contains(item T) bool {
	for _, n := range it.order {
		if n.item == item {
			return true
		}
	}
	return false
}

// Key returns item's key and whether it is in the tree.
func (it *ITree[T]) Key(item T) (start, last int, ok bool) {
	for _, n := range it.order {
		if n.item == item {
			return n.start, n.last, true
		}
	}
	return 0, 0, false
}

// Len returns the number of nodes.
func (it *ITree[T]) Len() int { return len(it.order) }

// Items returns every item in iteration order.
func (it *ITree[T]) Items() []T {
	out := make([]T, 0, len(it.order))
	for _, n := range it.order {
		out = append(out, n.item)
	}
	return out
}

// Overlapping returns, in iteration order, the items whose key overlaps
// [first, last].
func (it *ITree[T]) Overlapping(first, last int) []T {
	var out []T
	for _, n := range it.order {
		if n.start <= last && n.last >= first {
			out = append(out, n.item)
		}
	}
	return out
}

// After reports whether a is visited after b in an iteration (both must be
// in the tree).
func (it *ITree[T]) After(a, b T) bool {
	ia, ib := -1, -1
	for i, n := range it.order {
		if n.item == a {
			ia = i
		}
		if n.item == b {
			ib = i
		}
	}
	return ia >= 0 && ib >= 0 && ia > ib
}
