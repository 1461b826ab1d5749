package ivtree

// Insert adds node with its interval [node.Start, node.Last]. It mirrors
// ITPREFIX_insert() of include/linux/interval_tree_generic.h, with
// rb_link_node() and rb_insert_augmented_cached(): on the way down it raises
// the __subtree_last of every node it passes (before node is linked, so a
// reader may see an ancestor claim an interval that is not in the tree yet),
// and a node whose Start equals an existing node's goes to that node's right,
// so equal starts iterate in insertion order.
func (t *Tree[T]) Insert(node *Node[T], step Step[T]) {
	if node.inTree {
		panic("mmrace internal error: ivtree: Insert of a node that is already in a tree")
	}
	w := &writer[T]{t: t, step: step}
	link := &t.root
	var rbParent *Node[T]
	start, last := node.Start, node.Last
	leftmost := true

	for steps := 0; *link != nil; spin(&steps, "interval_tree_insert: the descent") {
		rbParent = *link
		parent := rbParent
		if parent.subtreeLast < last {
			w.setSubtreeLast(parent, last, "interval_tree_insert: parent->__subtree_last = last")
		}
		if start < parent.Start {
			link = &parent.left
		} else {
			link = &parent.right
			leftmost = false
		}
	}

	w.setSubtreeLast(node, last, "interval_tree_insert: node->__subtree_last = last")
	w.linkNode(node, rbParent, link)
	w.insertAugmentedCached(node, leftmost)
	node.inTree = true
	t.n++
}

// insertAugmentedCached mirrors rb_insert_augmented_cached()
// (include/linux/rbtree_augmented.h): the leftmost cache is updated before
// the rebalance.
func (w *writer[T]) insertAugmentedCached(node *Node[T], newleft bool) {
	if newleft {
		w.setLeftmost(node, "rb_insert_augmented_cached: root->rb_leftmost = node")
	}
	w.rbInsert(node) // rb_insert_augmented -> __rb_insert_augmented
}

// InsertAfter adds node immediately after prev in iteration order. It
// mirrors mm/interval_tree.c vma_interval_tree_insert_after() (named
// mapping_rmap_tree_insert_after() in the newest trees), which fork uses to
// place a child VMA right after its parent's: node becomes prev's right child,
// or the left child of the leftmost node of prev's right subtree, raising the
// __subtree_last of the nodes on that path only.
//
// As in the kernel, the caller must give node the Start of prev (the kernel
// only warns, under CONFIG_DEBUG_VM, when it does not) and a Last no greater
// than prev's subtree's __subtree_last (fork copies the VMA, so Last is
// prev's). Otherwise the port does what the kernel does: node is linked after
// prev all the same, so a different Start breaks the Start order, and a larger
// Last leaves the __subtree_last of prev and its ancestors too small, so
// iterations may miss node. Verify reports both. The kernel calls
// rb_insert_augmented(), not the _cached variant, so the leftmost cache is
// never touched: node is never leftmost, since prev comes before it.
func (t *Tree[T]) InsertAfter(node, prev *Node[T], step Step[T]) {
	if node.inTree {
		panic("mmrace internal error: ivtree: InsertAfter of a node that is already in a tree")
	}
	if !prev.inTree {
		panic("mmrace internal error: ivtree: InsertAfter a node that is not in a tree")
	}
	w := &writer[T]{t: t, step: step}
	var link **Node[T]
	var parent *Node[T]
	last := node.Last

	if prev.right == nil {
		parent = prev
		link = &prev.right
	} else {
		parent = prev.right
		if parent.subtreeLast < last {
			w.setSubtreeLast(parent, last, "vma_interval_tree_insert_after: parent->shared.rb_subtree_last = last")
		}
		for steps := 0; parent.left != nil; spin(&steps, "vma_interval_tree_insert_after: the descent") {
			parent = parent.left
			if parent.subtreeLast < last {
				w.setSubtreeLast(parent, last, "vma_interval_tree_insert_after: parent->shared.rb_subtree_last = last")
			}
		}
		link = &parent.left
	}

	w.setSubtreeLast(node, last, "vma_interval_tree_insert_after: node->shared.rb_subtree_last = last")
	w.linkNode(node, parent, link)
	w.rbInsert(node) // rb_insert_augmented -> __rb_insert_augmented
	node.inTree = true
	t.n++
}
