package ivtree

// Node is one interval-tree node: the kernel's struct rb_node (parent and
// color, left and right child) plus the interval [Start, Last] and the
// augmented __subtree_last, carrying the item it indexes. The caller sets
// Start, Last and Item before inserting the node and leaves them alone while
// it is in a tree, as the kernel keeps vm_pgoff and the VMA's size stable
// while a VMA is in an interval tree. A node may be inserted again after it
// was removed.
type Node[T any] struct {
	pc          parentColor[T] // __rb_parent_color
	right, left *Node[T]       // rb_right, rb_left
	subtreeLast int            // __subtree_last (shared.rb_subtree_last, rb_subtree_last)

	// Start and Last are the interval, ITSTART and ITLAST in the kernel.
	Start, Last int
	// Item is what the node indexes (the VMA or the anon_vma_chain).
	Item T

	inTree bool // bookkeeping only: between Insert/InsertAfter and Remove
}

// parentColor is the kernel's __rb_parent_color word: the parent pointer and
// the color bit, stored together.
type parentColor[T any] struct {
	parent *Node[T]
	black  bool // RB_BLACK; the zero value is RB_RED, as in the kernel
}

// Tree is the kernel's struct rb_root_cached: the root and the cached
// leftmost node. The zero Tree is empty.
type Tree[T any] struct {
	root     *Node[T] // rb_root.rb_node
	leftmost *Node[T] // rb_leftmost
	n        int      // bookkeeping only: the number of nodes
}

// Step is called by every mutation immediately before each store that a
// concurrent reader could observe (a child or parent link, a color, the root,
// the cached leftmost, a __subtree_last), and by the iterators immediately
// before each read of a node's fields or of the root. n is the node whose
// field is about to be written or read, nil for the tree's root pointer and
// leftmost cache; nil with a node field's read means the iterator is about to
// dereference NULL, and it panics with a *NullDeref when Step returns. what
// names the store or read in the kernel's words, "<kernel function>:
// <statement>"; the statement of a read starts with "read ". Stores to a node
// that is not linked yet (Insert's own node) are announced too: a reader that
// still holds the node from an earlier time in the tree can see them. A nil
// Step means no hook.
//
// Step may run other code that reads or modifies the same tree (that is its
// purpose), but it must not modify the field being announced.
type Step[T any] func(n *Node[T], what string)

// InTree reports whether n was inserted and not removed since (bookkeeping;
// the kernel has no such flag).
func (n *Node[T]) InTree() bool { return n.inTree }

// Len returns the number of nodes in the tree.
func (t *Tree[T]) Len() int { return t.n }

// Lockup is the panic value of a writer's descent (or climb) through the
// tree that does not end: only a tree another writer corrupted has the
// cycle that makes it go round, where the kernel would spin until the
// soft-lockup watchdog fires. Such a descent reads without announcing, so
// it is bounded instead: maxSpin steps, far more than any tree of the
// model has nodes.
type Lockup struct {
	What string
}

// Error returns the loop that did not end.
func (l *Lockup) Error() string { return "ivtree: " + l.What + " does not end (a cycle in the tree)" }

const maxSpin = 1 << 12

// spin counts one step of a descent and panics with a *Lockup past
// maxSpin.
func spin(n *int, what string) {
	if *n++; *n > maxSpin {
		panic(&Lockup{What: what})
	}
}

// NullDeref is the panic value of an iterator that dereferences a NULL node
// pointer, where the kernel would oops. Only a reader racing a writer can get
// there.
type NullDeref struct {
	// What is the read that found NULL, as passed to Step.
	What string
}

// Error returns the read that found NULL.
func (e *NullDeref) Error() string { return "ivtree: NULL pointer dereference at " + e.What }
