package ivtree

// The augment callbacks of INTERVAL_TREE_DEFINE, which declares them with
// RB_DECLARE_CALLBACKS_MAX(static, ITPREFIX_augment, ITSTRUCT, ITRB, ITTYPE,
// ITSUBTREE, ITLAST) (include/linux/rbtree_augmented.h).

// computeMax mirrors RBNAME_compute_max(): the maximum of node's Last and its
// children's __subtree_last. With exit set it stops (returns true) without a
// store when node already holds that value; otherwise it stores it.
func (w *writer[T]) computeMax(node *Node[T], exit bool, what string) bool {
	max := node.Last
	if node.left != nil {
		if child := node.left; child.subtreeLast > max {
			max = child.subtreeLast
		}
	}
	if node.right != nil {
		if child := node.right; child.subtreeLast > max {
			max = child.subtreeLast
		}
	}
	if exit && node.subtreeLast == max {
		return true
	}
	w.setSubtreeLast(node, max, what)
	return false
}

// propagate mirrors RBNAME_propagate(): recompute __subtree_last from rb up
// to stop (exclusive), stopping early at the first node that was already
// right.
func (w *writer[T]) propagate(rb, stop *Node[T]) {
	for rb != stop {
		node := rb
		if w.computeMax(node, true, "augment_propagate: node->__subtree_last = max") {
			break
		}
		rb = node.pc.parent
	}
}

// copyAugment mirrors RBNAME_copy(): new takes old's __subtree_last.
func (w *writer[T]) copyAugment(old, new *Node[T]) {
	w.setSubtreeLast(new, old.subtreeLast, "augment_copy: new->__subtree_last = old->__subtree_last")
}

// rotateAugment mirrors RBNAME_rotate(): after a rotation that made new the
// parent of old, new takes old's __subtree_last and old's is recomputed
// (always stored: compute_max(old, false)).
func (w *writer[T]) rotateAugment(old, new *Node[T]) {
	w.setSubtreeLast(new, old.subtreeLast, "augment_rotate: new->__subtree_last = old->__subtree_last")
	w.computeMax(old, false, "augment_rotate: old->__subtree_last = compute_max(old)")
}
