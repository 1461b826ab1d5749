package ivtree

// Remove erases node from the tree. It mirrors ITPREFIX_remove() of
// include/linux/interval_tree_generic.h, which is rb_erase_augmented_cached()
// (include/linux/rbtree_augmented.h): the leftmost cache moves to
// rb_next(node) first, then __rb_erase_augmented() unlinks node and, if a
// black leaf went away, __rb_erase_color() rebalances. node's own pointers,
// color and __subtree_last are left as they were, as the kernel leaves them
// (it does not RB_CLEAR_NODE here), so an unlocked iterator standing on node
// continues from stale pointers.
func (t *Tree[T]) Remove(node *Node[T], step Step[T]) {
	if !node.inTree {
		panic("mmrace internal error: ivtree: Remove of a node that is not in a tree")
	}
	w := &writer[T]{t: t, step: step}
	if t.leftmost == node {
		w.setLeftmost(rbNext(node), "rb_erase_augmented_cached: root->rb_leftmost = rb_next(node)")
	}
	// rb_erase_augmented
	if rebalance := w.eraseAugmented(node); rebalance != nil {
		w.eraseColor(rebalance) // __rb_erase_color -> ____rb_erase_color
	}
	node.inTree = false
	t.n--
}

// eraseAugmented mirrors __rb_erase_augmented()
// (include/linux/rbtree_augmented.h): unlink node, put its in-order
// successor in its place if it has two children, fix __subtree_last on the
// way up, and return the node from which the colors must be rebalanced (nil
// if none).
func (w *writer[T]) eraseAugmented(node *Node[T]) (rebalance *Node[T]) {
	child := node.right
	tmp := node.left
	var parent *Node[T]
	var pc parentColor[T]

	if tmp == nil {
		// Case 1: node to erase has no more than 1 child (easy!)
		//
		// Note that if there is one child it must be red due to 5) and
		// node must be black due to 4). We adjust colors locally so as
		// to bypass __rb_erase_color() later on.
		pc = node.pc
		parent = pc.parent
		w.changeChild(node, child, parent)
		if child != nil {
			w.setPC(child, pc, "__rb_erase_augmented case 1: child->__rb_parent_color = pc")
			rebalance = nil
		} else if pc.black {
			rebalance = parent
		} else {
			rebalance = nil
		}
		tmp = parent
	} else if child == nil {
		// Still case 1, but this time the child is node->rb_left
		pc = node.pc
		w.setPC(tmp, pc, "__rb_erase_augmented case 1: tmp->__rb_parent_color = pc = node->__rb_parent_color")
		parent = pc.parent
		w.changeChild(node, tmp, parent)
		rebalance = nil
		tmp = parent
	} else {
		successor := child
		var child2 *Node[T]

		tmp = child.left
		if tmp == nil {
			// Case 2: node's successor is its right child
			//
			//    (n)          (s)
			//    / \          / \
			//  (x) (s)  ->  (x) (c)
			//        \
			//        (c)
			parent = successor
			child2 = successor.right

			w.copyAugment(node, successor)
		} else {
			// Case 3: node's successor is leftmost under node's right
			// child subtree
			//
			//    (n)          (s)
			//    / \          / \
			//  (x) (y)  ->  (x) (y)
			//      /            /
			//    (p)          (p)
			//    /            /
			//  (s)          (c)
			//    \
			//    (c)
			for steps := 0; ; spin(&steps, "__rb_erase_augmented: the successor search") {
				parent = successor
				successor = tmp
				tmp = tmp.left
				if tmp == nil {
					break
				}
			}
			child2 = successor.right
			w.setLeft(parent, child2, "__rb_erase_augmented case 3: WRITE_ONCE(parent->rb_left, child2)")
			w.setRight(successor, child, "__rb_erase_augmented case 3: WRITE_ONCE(successor->rb_right, child)")
			w.setParent(child, successor, "__rb_erase_augmented case 3: rb_set_parent(child, successor)")

			w.copyAugment(node, successor)
			w.propagate(parent, successor)
		}

		tmp = node.left
		w.setLeft(successor, tmp, "__rb_erase_augmented: WRITE_ONCE(successor->rb_left, tmp)")
		w.setParent(tmp, successor, "__rb_erase_augmented: rb_set_parent(tmp, successor)")

		pc = node.pc
		tmp = pc.parent
		w.changeChild(node, successor, tmp)

		if child2 != nil {
			w.setPC(successor, pc, "__rb_erase_augmented: successor->__rb_parent_color = pc")
			w.setParentColor(child2, parent, true, "__rb_erase_augmented: rb_set_parent_color(child2, parent, RB_BLACK)")
			rebalance = nil
		} else {
			pc2 := successor.pc
			w.setPC(successor, pc, "__rb_erase_augmented: successor->__rb_parent_color = pc")
			if pc2.black {
				rebalance = parent
			} else {
				rebalance = nil
			}
		}
		tmp = successor
	}

	w.propagate(tmp, nil)
	return rebalance
}

// rbNext mirrors lib/rbtree.c rb_next(): node's in-order successor, by its
// own pointers and then its parents'. The remover calls it under the tree's
// lock, so it has no Step.
func rbNext[T any](node *Node[T]) *Node[T] {
	if node.pc.parent == node { // RB_EMPTY_NODE(node)
		return nil
	}

	// If we have a right-hand child, go down and then left as far as we
	// can.
	if node.right != nil {
		node = node.right
		for steps := 0; node.left != nil; spin(&steps, "rb_next: the descent") {
			node = node.left
		}
		return node
	}

	// No right-hand children. Everything down and left is smaller than
	// us, so any 'next' node must be in the general direction of our
	// parent. Go up the tree; any time the ancestor is a right-hand child
	// of its parent, keep going up. First time it's a left-hand child of
	// its parent, said parent is our 'next' node.
	var parent *Node[T]
	for steps := 0; ; spin(&steps, "rb_next: the climb") {
		parent = node.pc.parent
		if parent == nil || node != parent.right {
			break
		}
		node = parent
	}
	return parent
}
