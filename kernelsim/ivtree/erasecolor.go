package ivtree

// eraseColor mirrors lib/rbtree.c ____rb_erase_color() (through
// __rb_erase_color()) with the augment_rotate callback of
// RB_DECLARE_CALLBACKS_MAX: rebalance after a black leaf under parent was
// erased. The diagrams are the kernel's (upper case black, lower case red,
// parentheses either).
func (w *writer[T]) eraseColor(parent *Node[T]) {
	var node, sibling, tmp1, tmp2 *Node[T]

	for {
		// Loop invariants:
		// - node is black (or NULL on first iteration)
		// - node is not the root (parent is not NULL)
		// - All leaf paths going through parent and node have a black
		//   node count that is 1 lower than other leaf paths.
		sibling = parent.right
		if node != sibling { // node == parent->rb_left
			if !sibling.pc.black {
				// Case 1 - left rotate at parent
				//
				//     P               S
				//    / \             / \
				//   N   s    -->    p   Sr
				//      / \         / \
				//     Sl  Sr      N   Sl
				tmp1 = sibling.left
				w.setRight(parent, tmp1, "____rb_erase_color case 1: WRITE_ONCE(parent->rb_right, tmp1)")
				w.setLeft(sibling, parent, "____rb_erase_color case 1: WRITE_ONCE(sibling->rb_left, parent)")
				w.setParentColor(tmp1, parent, true, "____rb_erase_color case 1: rb_set_parent_color(tmp1, parent, RB_BLACK)")
				w.rotateSetParents(parent, sibling, false)
				w.rotateAugment(parent, sibling)
				sibling = tmp1
			}
			tmp1 = sibling.right
			if tmp1 == nil || tmp1.pc.black {
				tmp2 = sibling.left
				if tmp2 == nil || tmp2.pc.black {
					// Case 2 - sibling color flip
					// (p could be either color here)
					//
					//    (p)           (p)
					//    / \           / \
					//   N   S    -->  N   s
					//      / \           / \
					//     Sl  Sr        Sl  Sr
					//
					// This leaves us violating 5) which can be fixed
					// by flipping p to black if it was red, or by
					// recursing at p. p is red when coming from
					// Case 1.
					w.setParentColor(sibling, parent, false, "____rb_erase_color case 2: rb_set_parent_color(sibling, parent, RB_RED)")
					if !parent.pc.black {
						w.setBlack(parent, "____rb_erase_color case 2: rb_set_black(parent)")
					} else {
						node = parent
						parent = node.pc.parent
						if parent != nil {
							continue
						}
					}
					break
				}
				// Case 3 - right rotate at sibling
				// (p could be either color here)
				//
				//   (p)           (p)
				//   / \           / \
				//  N   S    -->  N   sl
				//     / \             \
				//    sl  Sr            S
				//                       \
				//                        Sr
				//
				// Note: p might be red, and then both p and sl are
				// red after rotation (which breaks property 4). This
				// is fixed in Case 4 (in __rb_rotate_set_parents()
				// which set sl the color of p and set p RB_BLACK).
				tmp1 = tmp2.right
				w.setLeft(sibling, tmp1, "____rb_erase_color case 3: WRITE_ONCE(sibling->rb_left, tmp1)")
				w.setRight(tmp2, sibling, "____rb_erase_color case 3: WRITE_ONCE(tmp2->rb_right, sibling)")
				w.setRight(parent, tmp2, "____rb_erase_color case 3: WRITE_ONCE(parent->rb_right, tmp2)")
				if tmp1 != nil {
					w.setParentColor(tmp1, sibling, true, "____rb_erase_color case 3: rb_set_parent_color(tmp1, sibling, RB_BLACK)")
				}
				w.rotateAugment(sibling, tmp2)
				tmp1 = sibling
				sibling = tmp2
			}
			// Case 4 - left rotate at parent + color flips
			// (p and sl could be either color here. After rotation, p
			// becomes black, s acquires p's color, and sl keeps its
			// color)
			//
			//      (p)             (s)
			//      / \             / \
			//     N   S     -->   P   Sr
			//        / \         / \
			//      (sl) sr      N  (sl)
			tmp2 = sibling.left
			w.setRight(parent, tmp2, "____rb_erase_color case 4: WRITE_ONCE(parent->rb_right, tmp2)")
			w.setLeft(sibling, parent, "____rb_erase_color case 4: WRITE_ONCE(sibling->rb_left, parent)")
			w.setParentColor(tmp1, sibling, true, "____rb_erase_color case 4: rb_set_parent_color(tmp1, sibling, RB_BLACK)")
			if tmp2 != nil {
				w.setParent(tmp2, parent, "____rb_erase_color case 4: rb_set_parent(tmp2, parent)")
			}
			w.rotateSetParents(parent, sibling, true)
			w.rotateAugment(parent, sibling)
			break
		} else {
			sibling = parent.left
			if !sibling.pc.black {
				// Case 1 - right rotate at parent
				tmp1 = sibling.right
				w.setLeft(parent, tmp1, "____rb_erase_color case 1: WRITE_ONCE(parent->rb_left, tmp1)")
				w.setRight(sibling, parent, "____rb_erase_color case 1: WRITE_ONCE(sibling->rb_right, parent)")
				w.setParentColor(tmp1, parent, true, "____rb_erase_color case 1: rb_set_parent_color(tmp1, parent, RB_BLACK)")
				w.rotateSetParents(parent, sibling, false)
				w.rotateAugment(parent, sibling)
				sibling = tmp1
			}
			tmp1 = sibling.left
			if tmp1 == nil || tmp1.pc.black {
				tmp2 = sibling.right
				if tmp2 == nil || tmp2.pc.black {
					// Case 2 - sibling color flip
					w.setParentColor(sibling, parent, false, "____rb_erase_color case 2: rb_set_parent_color(sibling, parent, RB_RED)")
					if !parent.pc.black {
						w.setBlack(parent, "____rb_erase_color case 2: rb_set_black(parent)")
					} else {
						node = parent
						parent = node.pc.parent
						if parent != nil {
							continue
						}
					}
					break
				}
				// Case 3 - left rotate at sibling
				tmp1 = tmp2.left
				w.setRight(sibling, tmp1, "____rb_erase_color case 3: WRITE_ONCE(sibling->rb_right, tmp1)")
				w.setLeft(tmp2, sibling, "____rb_erase_color case 3: WRITE_ONCE(tmp2->rb_left, sibling)")
				w.setLeft(parent, tmp2, "____rb_erase_color case 3: WRITE_ONCE(parent->rb_left, tmp2)")
				if tmp1 != nil {
					w.setParentColor(tmp1, sibling, true, "____rb_erase_color case 3: rb_set_parent_color(tmp1, sibling, RB_BLACK)")
				}
				w.rotateAugment(sibling, tmp2)
				tmp1 = sibling
				sibling = tmp2
			}
			// Case 4 - right rotate at parent + color flips
			tmp2 = sibling.right
			w.setLeft(parent, tmp2, "____rb_erase_color case 4: WRITE_ONCE(parent->rb_left, tmp2)")
			w.setRight(sibling, parent, "____rb_erase_color case 4: WRITE_ONCE(sibling->rb_right, parent)")
			w.setParentColor(tmp1, sibling, true, "____rb_erase_color case 4: rb_set_parent_color(tmp1, sibling, RB_BLACK)")
			if tmp2 != nil {
				w.setParent(tmp2, parent, "____rb_erase_color case 4: rb_set_parent(tmp2, parent)")
			}
			w.rotateSetParents(parent, sibling, true)
			w.rotateAugment(parent, sibling)
			break
		}
	}
}
