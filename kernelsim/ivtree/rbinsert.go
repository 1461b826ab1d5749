package ivtree

// rbInsert mirrors lib/rbtree.c __rb_insert() with the augment_rotate
// callback of RB_DECLARE_CALLBACKS_MAX (rotateAugment): rebalance after node
// was linked as a red leaf. The diagrams are the kernel's (upper case black,
// lower case red).
func (w *writer[T]) rbInsert(node *Node[T]) {
	parent := node.pc.parent // rb_red_parent(node)
	var gparent, tmp *Node[T]

	for {
		// Loop invariant: node is red.
		if parent == nil {
			// The inserted node is root. Either this is the first node,
			// or we recursed at Case 1 below and are no longer
			// violating 4).
			w.setParentColor(node, nil, true, "__rb_insert: rb_set_parent_color(node, NULL, RB_BLACK)")
			break
		}

		// If there is a black parent, we are done. Otherwise, take some
		// corrective action as, per 4), we don't want a red root or two
		// consecutive red nodes.
		if parent.pc.black {
			break
		}

		gparent = parent.pc.parent // rb_red_parent(parent)

		tmp = gparent.right
		if parent != tmp { // parent == gparent->rb_left
			if tmp != nil && !tmp.pc.black {
				// Case 1 - node's uncle is red (color flips).
				//
				//       G            g
				//      / \          / \
				//     p   u  -->   P   U
				//    /            /
				//   n            n
				//
				// However, since g's parent might be red, and 4) does
				// not allow this, we need to recurse at g.
				w.setParentColor(tmp, gparent, true, "__rb_insert case 1: rb_set_parent_color(tmp, gparent, RB_BLACK)")
				w.setParentColor(parent, gparent, true, "__rb_insert case 1: rb_set_parent_color(parent, gparent, RB_BLACK)")
				node = gparent
				parent = node.pc.parent
				w.setParentColor(node, parent, false, "__rb_insert case 1: rb_set_parent_color(node, parent, RB_RED)")
				continue
			}

			tmp = parent.right
			if node == tmp {
				// Case 2 - node's uncle is black and node is the
				// parent's right child (left rotate at parent).
				//
				//      G             G
				//     / \           / \
				//    p   U  -->    n   U
				//     \           /
				//      n         p
				//
				// This still leaves us in violation of 4), the
				// continuation into Case 3 will fix that.
				tmp = node.left
				w.setRight(parent, tmp, "__rb_insert case 2: WRITE_ONCE(parent->rb_right, tmp)")
				w.setLeft(node, parent, "__rb_insert case 2: WRITE_ONCE(node->rb_left, parent)")
				if tmp != nil {
					w.setParentColor(tmp, parent, true, "__rb_insert case 2: rb_set_parent_color(tmp, parent, RB_BLACK)")
				}
				w.setParentColor(parent, node, false, "__rb_insert case 2: rb_set_parent_color(parent, node, RB_RED)")
				w.rotateAugment(parent, node)
				parent = node
				tmp = node.right
			}

			// Case 3 - node's uncle is black and node is the parent's
			// left child (right rotate at gparent).
			//
			//        G           P
			//       / \         / \
			//      p   U  -->  n   g
			//     /                 \
			//    n                   U
			w.setLeft(gparent, tmp, "__rb_insert case 3: WRITE_ONCE(gparent->rb_left, tmp)") // == parent->rb_right
			w.setRight(parent, gparent, "__rb_insert case 3: WRITE_ONCE(parent->rb_right, gparent)")
			if tmp != nil {
				w.setParentColor(tmp, gparent, true, "__rb_insert case 3: rb_set_parent_color(tmp, gparent, RB_BLACK)")
			}
			w.rotateSetParents(gparent, parent, false)
			w.rotateAugment(gparent, parent)
			break
		} else {
			tmp = gparent.left
			if tmp != nil && !tmp.pc.black {
				// Case 1 - color flips
				w.setParentColor(tmp, gparent, true, "__rb_insert case 1: rb_set_parent_color(tmp, gparent, RB_BLACK)")
				w.setParentColor(parent, gparent, true, "__rb_insert case 1: rb_set_parent_color(parent, gparent, RB_BLACK)")
				node = gparent
				parent = node.pc.parent
				w.setParentColor(node, parent, false, "__rb_insert case 1: rb_set_parent_color(node, parent, RB_RED)")
				continue
			}

			tmp = parent.left
			if node == tmp {
				// Case 2 - right rotate at parent
				tmp = node.right
				w.setLeft(parent, tmp, "__rb_insert case 2: WRITE_ONCE(parent->rb_left, tmp)")
				w.setRight(node, parent, "__rb_insert case 2: WRITE_ONCE(node->rb_right, parent)")
				if tmp != nil {
					w.setParentColor(tmp, parent, true, "__rb_insert case 2: rb_set_parent_color(tmp, parent, RB_BLACK)")
				}
				w.setParentColor(parent, node, false, "__rb_insert case 2: rb_set_parent_color(parent, node, RB_RED)")
				w.rotateAugment(parent, node)
				parent = node
				tmp = node.left
			}

			// Case 3 - left rotate at gparent
			w.setRight(gparent, tmp, "__rb_insert case 3: WRITE_ONCE(gparent->rb_right, tmp)") // == parent->rb_left
			w.setLeft(parent, gparent, "__rb_insert case 3: WRITE_ONCE(parent->rb_left, gparent)")
			if tmp != nil {
				w.setParentColor(tmp, gparent, true, "__rb_insert case 3: rb_set_parent_color(tmp, gparent, RB_BLACK)")
			}
			w.rotateSetParents(gparent, parent, false)
			w.rotateAugment(gparent, parent)
			break
		}
	}
}
