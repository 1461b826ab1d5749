package kernelsim

// ITree is the model of the kernel's interval trees (anon_vma->rb_root of
// AVCs, mapping->i_mmap of VMAs): nodes keyed by [start, last] page offsets,
// iterated in ascending start with ties in insertion order (a node inserted
// with an equal start goes to the right), as mm/interval_tree.c does. The
// caller holds the rmap lock: W to modify, R or W to iterate.
type ITree[T comparable] struct {
	nodes []itNode[T]
	seq   uint64
}

type itNode[T comparable] struct {
	start, last int
	seq         uint64
	item        T
}

// Insert adds item with key [start, last] after every node whose start is
// not greater.
func (it *ITree[T]) Insert(item T, start, last int) {
	it.seq++
	n := itNode[T]{start: start, last: last, seq: it.seq, item: item}
	i := len(it.nodes)
	for i > 0 && it.nodes[i-1].start > start {
		i--
	}
	it.nodes = append(it.nodes, n)
	copy(it.nodes[i+1:], it.nodes[i:])
	it.nodes[i] = n
}

// InsertAfter adds item right after prev with key [start, last], as
// vma_interval_tree_insert_after() does for fork (prev must have the same
// start). If prev is absent it behaves like Insert.
func (it *ITree[T]) InsertAfter(item, prev T, start, last int) {
	for i, n := range it.nodes {
		if n.item == prev {
			it.seq++
			nn := itNode[T]{start: start, last: last, seq: it.seq, item: item}
			it.nodes = append(it.nodes, nn)
			copy(it.nodes[i+2:], it.nodes[i+1:])
			it.nodes[i+1] = nn
			return
		}
	}
	it.Insert(item, start, last)
}

// Remove deletes item; it reports whether it was there.
func (it *ITree[T]) Remove(item T) bool {
	for i, n := range it.nodes {
		if n.item == item {
			it.nodes = append(it.nodes[:i], it.nodes[i+1:]...)
			return true
		}
	}
	return false
}

// Contains reports whether item is in the tree.
func (it *ITree[T]) Contains(item T) bool {
	for _, n := range it.nodes {
		if n.item == item {
			return true
		}
	}
	return false
}

// Key returns item's key and whether it is in the tree.
func (it *ITree[T]) Key(item T) (start, last int, ok bool) {
	for _, n := range it.nodes {
		if n.item == item {
			return n.start, n.last, true
		}
	}
	return 0, 0, false
}

// Len returns the number of nodes.
func (it *ITree[T]) Len() int { return len(it.nodes) }

// Items returns every item in iteration order.
func (it *ITree[T]) Items() []T {
	out := make([]T, 0, len(it.nodes))
	for _, n := range it.nodes {
		out = append(out, n.item)
	}
	return out
}

// Overlapping returns, in iteration order, the items whose key overlaps
// [first, last].
func (it *ITree[T]) Overlapping(first, last int) []T {
	var out []T
	for _, n := range it.nodes {
		if n.start <= last && n.last >= first {
			out = append(out, n.item)
		}
	}
	return out
}

// Cursor is a position in an iteration, kept across scheduling points. The
// next node is the in-order successor of the node visited last, as an
// rb-tree walk continues from its current node: a node inserted behind the
// cursor is missed, one inserted ahead is seen. If the last node was removed
// meanwhile, the walk resumes at the first node that sorts after it by
// (start, insertion); fork's insert_after nodes sort by position, so that
// fallback is an approximation for them.
type Cursor struct {
	first, last int
	start       int
	seq         uint64
	at          any // the item visited last
	begun       bool
}

// Iter starts an iteration over the items overlapping [first, last].
func (it *ITree[T]) Iter(first, last int) *Cursor { return &Cursor{first: first, last: last} }

// Next returns the next overlapping item after c, or ok=false at the end.
func (it *ITree[T]) Next(c *Cursor) (item T, ok bool) {
	from := 0
	if c.begun {
		from = -1
		for i, n := range it.nodes {
			if any(n.item) == c.at {
				from = i + 1
				break
			}
		}
		if from < 0 { // the last node went away: resume by key
			from = len(it.nodes)
			for i, n := range it.nodes {
				if n.start > c.start || (n.start == c.start && n.seq > c.seq) {
					from = i
					break
				}
			}
		}
	}
	for _, n := range it.nodes[from:] {
		if n.start <= c.last && n.last >= c.first {
			c.start, c.seq, c.at, c.begun = n.start, n.seq, any(n.item), true
			return n.item, true
		}
	}
	return item, false
}

// After reports whether a is visited after b in an iteration (both must be
// in the tree).
func (it *ITree[T]) After(a, b T) bool {
	ia, ib := -1, -1
	for i, n := range it.nodes {
		if n.item == a {
			ia = i
		}
		if n.item == b {
			ib = i
		}
	}
	return ia >= 0 && ib >= 0 && ia > ib
}
