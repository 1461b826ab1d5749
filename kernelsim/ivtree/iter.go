package ivtree

// The iterators of INTERVAL_TREE_DEFINE (include/linux/interval_tree_generic.h),
// as of kernel commit 19811285784f ("lib/interval_tree: skip the check before
// go to the right subtree"). A node's interval intersects [start, last] iff
// Cond1: Start <= last and Cond2: start <= Last.
//
// Each read of a node's field (or of the root) is one Step and one read, in
// the order of the kernel's source; where the source reads a field twice
// (root->rb_root.rb_node in iter_first, node->rb_left in subtree_search), the
// port does too, so a writer may change it in between. The kernel's compiled
// code may load such a field once (the reads are plain C reads, not
// READ_ONCE), so those second reads give a racing reader a few more outcomes
// than a given build has, never fewer.

// reader performs the reads of one iterator call, announcing each to step
// first.
type reader[T any] struct {
	step Step[T]
}

// at calls the Step hook before a read of n's field; if n is nil the kernel
// would dereference NULL here, and at panics with a *NullDeref.
func (r reader[T]) at(n *Node[T], what string) *Node[T] {
	if r.step != nil {
		r.step(n, what)
	}
	if n == nil {
		panic(&NullDeref{What: what})
	}
	return n
}

// root reads t's root pointer (root->rb_root.rb_node).
func (r reader[T]) root(t *Tree[T], what string) *Node[T] {
	if r.step != nil {
		r.step(nil, what)
	}
	return t.root
}

// subtreeSearch mirrors ITPREFIX_subtree_search(): the leftmost node of the
// subtree at node that intersects [start, last], or nil. Its loop invariant,
// start <= node->__subtree_last, holds in a tree that does not change; for a
// racing reader it may not (a __subtree_last raised by an insert's descent
// before the node is linked, or not yet lowered by an erase), and since
// 19811285784f the search then steps from a node that fails Cond2 to its
// right child without checking that there is one: the next read dereferences
// NULL (a *NullDeref panic). A left child that vanishes between the two reads
// of node->rb_left does the same.
func subtreeSearch[T any](r reader[T], node *Node[T], start, last int) *Node[T] {
	for {
		// Loop invariant: start <= node->ITSUBTREE (Cond2 is
		// satisfied by one of the subtree nodes)
		if r.at(node, "interval_tree_subtree_search: read node->rb_left").left != nil {
			left := r.at(node, "interval_tree_subtree_search: read node->rb_left").left
			if start <= r.at(left, "interval_tree_subtree_search: read left->__subtree_last").subtreeLast {
				// Some nodes in left subtree satisfy Cond2. Iterate
				// to find the leftmost such node N. If it also
				// satisfies Cond1, that's the match we are looking
				// for. Otherwise, there is no matching interval as
				// nodes to the right of N can't satisfy Cond1
				// either.
				node = left
				continue
			}
		}
		if r.at(node, "interval_tree_subtree_search: read ITSTART(node)").Start <= last { // Cond1
			if start <= r.at(node, "interval_tree_subtree_search: read ITLAST(node)").Last { // Cond2
				return node // node is leftmost match
			}
			node = r.at(node, "interval_tree_subtree_search: read node->rb_right").right
			continue
		}
		return nil // No match
	}
}

// IterFirst returns the first node, in iteration order, whose interval
// intersects [start, last], or nil. It mirrors ITPREFIX_iter_first(): two
// O(1) rejections (the root's __subtree_last, the leftmost node's Start),
// then subtree_search from the root. Called without the tree's lock, it reads
// whatever the writers have stored so far.
func (t *Tree[T]) IterFirst(start, last int, step Step[T]) *Node[T] {
	r := reader[T]{step: step}

	if r.root(t, "interval_tree_iter_first: read root->rb_root.rb_node") == nil {
		return nil
	}

	// Fastpath range intersection/overlap between A: [a0, a1] and B: [b0,
	// b1] is given by: a0 <= b1 && b0 <= a1, where A holds the lock range
	// and B holds the smallest 'start' and largest 'last' in the tree.
	// For the later, we rely on the root node, which by augmented interval
	// tree property, holds the largest value in its last-in-subtree.
	node := r.root(t, "interval_tree_iter_first: read root->rb_root.rb_node")
	if r.at(node, "interval_tree_iter_first: read node->__subtree_last").subtreeLast < start {
		return nil
	}

	if r.step != nil {
		r.step(nil, "interval_tree_iter_first: read root->rb_leftmost")
	}
	leftmost := t.leftmost
	if r.at(leftmost, "interval_tree_iter_first: read ITSTART(leftmost)").Start > last {
		return nil
	}

	return subtreeSearch(r, node, start, last)
}

// IterNext returns the node after n, in iteration order, whose interval
// intersects [start, last], or nil. It mirrors ITPREFIX_iter_next(): search
// n's right subtree, else climb until coming up from a left child. It uses
// only n's own pointers and those it reaches, so called on a node that was
// removed (or freed) meanwhile it follows the stale pointers the removal left
// behind, as the kernel would; the caller detects the use after free through
// step, which sees every node before it is read.
func IterNext[T any](n *Node[T], start, last int, step Step[T]) *Node[T] {
	r := reader[T]{step: step}
	node := n
	rb := r.at(node, "interval_tree_iter_next: read node->rb_right").right
	var prev *Node[T]

	for {
		// Loop invariants:
		//   Cond1: ITSTART(node) <= last
		//   rb == node->ITRB.rb_right
		//
		// First, search right subtree if suitable
		if rb != nil {
			right := rb
			if start <= r.at(right, "interval_tree_iter_next: read right->__subtree_last").subtreeLast {
				return subtreeSearch(r, right, start, last)
			}
		}

		// Move up the tree until we come from a node's left child
		for {
			rb = r.at(node, "interval_tree_iter_next: read rb_parent(node)").pc.parent
			if rb == nil {
				return nil
			}
			prev = node
			node = rb
			rb = r.at(node, "interval_tree_iter_next: read node->rb_right").right
			if prev != rb {
				break
			}
		}

		// Check if the node intersects [start;last]
		if last < r.at(node, "interval_tree_iter_next: read ITSTART(node)").Start { // !Cond1
			return nil
		} else if start <= r.at(node, "interval_tree_iter_next: read ITLAST(node)").Last { // Cond2
			return node
		}
	}
}
