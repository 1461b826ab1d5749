package ivtree

// writer performs the stores of one mutation of t, announcing each to step
// first. Every store of a mutation goes through one of its methods, so none
// escapes the hook.
type writer[T any] struct {
	t    *Tree[T]
	step Step[T]
}

// announce calls the Step hook, if any, before a store to n.
func (w *writer[T]) announce(n *Node[T], what string) {
	if w.step != nil {
		w.step(n, what)
	}
}

// setLeft stores n->rb_left.
func (w *writer[T]) setLeft(n, v *Node[T], what string) {
	w.announce(n, what)
	n.left = v
}

// setRight stores n->rb_right.
func (w *writer[T]) setRight(n, v *Node[T], what string) {
	w.announce(n, what)
	n.right = v
}

// setPC stores the whole n->__rb_parent_color word.
func (w *writer[T]) setPC(n *Node[T], pc parentColor[T], what string) {
	w.announce(n, what)
	n.pc = pc
}

// setParentColor mirrors rb_set_parent_color(): one store of parent and
// color.
func (w *writer[T]) setParentColor(n, p *Node[T], black bool, what string) {
	w.setPC(n, parentColor[T]{parent: p, black: black}, what)
}

// setParent mirrors rb_set_parent(): n keeps its color, one store.
func (w *writer[T]) setParent(n, p *Node[T], what string) {
	w.setPC(n, parentColor[T]{parent: p, black: n.pc.black}, what)
}

// setBlack mirrors rb_set_black(): __rb_parent_color |= RB_BLACK.
func (w *writer[T]) setBlack(n *Node[T], what string) {
	w.setPC(n, parentColor[T]{parent: n.pc.parent, black: true}, what)
}

// setRoot stores root->rb_node.
func (w *writer[T]) setRoot(v *Node[T], what string) {
	w.announce(nil, what)
	w.t.root = v
}

// setLeftmost stores root->rb_leftmost.
func (w *writer[T]) setLeftmost(v *Node[T], what string) {
	w.announce(nil, what)
	w.t.leftmost = v
}

// setSubtreeLast stores n->__subtree_last.
func (w *writer[T]) setSubtreeLast(n *Node[T], v int, what string) {
	w.announce(n, what)
	n.subtreeLast = v
}

// changeChild mirrors __rb_change_child() (include/linux/rbtree_augmented.h):
// parent's link to old, or the root, now points to new.
func (w *writer[T]) changeChild(old, new, parent *Node[T]) {
	if parent != nil {
		if parent.left == old {
			w.setLeft(parent, new, "__rb_change_child: WRITE_ONCE(parent->rb_left, new)")
		} else {
			w.setRight(parent, new, "__rb_change_child: WRITE_ONCE(parent->rb_right, new)")
		}
	} else {
		w.setRoot(new, "__rb_change_child: WRITE_ONCE(root->rb_node, new)")
	}
}

// rotateSetParents mirrors lib/rbtree.c __rb_rotate_set_parents(): old's
// parent and color go to new, old gets new as its parent and the given color,
// and old's parent (or the root) then points to new.
func (w *writer[T]) rotateSetParents(old, new *Node[T], black bool) {
	parent := old.pc.parent
	w.setPC(new, old.pc, "__rb_rotate_set_parents: new->__rb_parent_color = old->__rb_parent_color")
	w.setParentColor(old, new, black, "__rb_rotate_set_parents: rb_set_parent_color(old, new, color)")
	w.changeChild(old, new, parent)
}

// linkNode mirrors rb_link_node() (include/linux/rbtree.h): node becomes a
// red leaf under parent and *link, parent's child pointer or the root, points
// to it. The kernel's "node->rb_left = node->rb_right = NULL" is two stores in
// unspecified order; the port does rb_right first.
func (w *writer[T]) linkNode(node, parent *Node[T], link **Node[T]) {
	w.setPC(node, parentColor[T]{parent: parent}, "rb_link_node: node->__rb_parent_color = parent")
	w.setRight(node, nil, "rb_link_node: node->rb_right = NULL")
	w.setLeft(node, nil, "rb_link_node: node->rb_left = NULL")
	w.announce(parent, "rb_link_node: *rb_link = node")
	*link = node
}
