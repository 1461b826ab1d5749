package ivtree

import "fmt"

// InOrder returns the nodes in iteration order (rb_first, then rb_next). It
// is for checkers and tests, not a kernel function, and has no Step: call it
// only on a tree that no mutation is changing. It stops after Len()+1 nodes,
// so a corrupted tree cannot make it loop.
func (t *Tree[T]) InOrder() []*Node[T] {
	out := make([]*Node[T], 0, t.n)
	n := t.root
	if n == nil {
		return out
	}
	for steps := 0; n.left != nil && steps <= t.n; steps++ { // rb_first
		n = n.left
	}
	for ; n != nil && len(out) <= t.n; n = rbNext(n) {
		out = append(out, n)
	}
	return out
}

// Verify checks that the tree is what the kernel's code keeps it at rest: a
// red-black tree (black root, no red node with a red child, the same number
// of black nodes on every path), consistent parent links, Start ascending in
// order, every __subtree_last exactly the maximum Last of its subtree, the
// leftmost cache pointing at the first node, every node marked in the tree,
// and Len nodes. It returns the first violation found.
func (t *Tree[T]) Verify() error {
	v := verifier[T]{budget: t.n}
	if t.root != nil {
		if t.root.pc.parent != nil {
			return fmt.Errorf("ivtree: the root [%d,%d] has a parent", t.root.Start, t.root.Last)
		}
		if !t.root.pc.black {
			return fmt.Errorf("ivtree: the root [%d,%d] is red", t.root.Start, t.root.Last)
		}
	}
	if _, err := v.walk(t.root); err != nil {
		return err
	}
	if v.count != t.n {
		return fmt.Errorf("ivtree: %d nodes reachable, Len is %d", v.count, t.n)
	}
	if t.leftmost != v.first {
		return fmt.Errorf("ivtree: the leftmost cache is not the first node")
	}
	return nil
}

// verifier carries Verify's in-order walk.
type verifier[T any] struct {
	budget  int      // nodes the walk may enter before it reports a cycle
	entered int      // nodes entered
	count   int      // nodes visited in order
	first   *Node[T] // the first node in order
	prev    *Node[T] // the node visited last in order
}

// walk checks the subtree at n in order and returns its black height.
func (v *verifier[T]) walk(n *Node[T]) (int, error) {
	if n == nil {
		return 1, nil
	}
	if v.entered >= v.budget {
		return 0, fmt.Errorf("ivtree: more nodes reachable than Len (%d), or a cycle", v.budget)
	}
	v.entered++
	for _, c := range []*Node[T]{n.left, n.right} {
		if c == nil {
			continue
		}
		if c.pc.parent != n {
			return 0, fmt.Errorf("ivtree: [%d,%d] is a child of [%d,%d] but has another parent", c.Start, c.Last, n.Start, n.Last)
		}
		if !n.pc.black && !c.pc.black {
			return 0, fmt.Errorf("ivtree: red [%d,%d] has a red child [%d,%d]", n.Start, n.Last, c.Start, c.Last)
		}
	}
	lh, err := v.walk(n.left)
	if err != nil {
		return 0, err
	}
	v.count++
	if !n.inTree {
		return 0, fmt.Errorf("ivtree: [%d,%d] is reachable but not marked in the tree", n.Start, n.Last)
	}
	if v.prev == nil {
		v.first = n
	} else if v.prev.Start > n.Start {
		return 0, fmt.Errorf("ivtree: [%d,%d] comes before [%d,%d] in order", v.prev.Start, v.prev.Last, n.Start, n.Last)
	}
	v.prev = n
	rh, err := v.walk(n.right)
	if err != nil {
		return 0, err
	}
	if lh != rh {
		return 0, fmt.Errorf("ivtree: [%d,%d] has black heights %d (left) and %d (right)", n.Start, n.Last, lh, rh)
	}
	max := n.Last
	for _, c := range []*Node[T]{n.left, n.right} {
		if c != nil && c.subtreeLast > max {
			max = c.subtreeLast
		}
	}
	if n.subtreeLast != max {
		return 0, fmt.Errorf("ivtree: [%d,%d] has __subtree_last %d, its subtree's last is %d", n.Start, n.Last, n.subtreeLast, max)
	}
	if n.pc.black {
		lh++
	}
	return lh, nil
}
