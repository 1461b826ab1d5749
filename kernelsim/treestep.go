package kernelsim

import (
	"fmt"
	"runtime"
	"strings"

	"mmrace/kernelsim/ivtree"
	"mmrace/kernelsim/sched"
)

// Scheduling points inside the interval trees.
//
// With Kernel.TreeSteps on, every store of an interval-tree mutation and
// every read of a node by a walker's iterator is a scheduling point, as
// package ivtree announces them: a walker that does not hold the tree's
// lock then meets the tree mid-rotation, exactly as an unlocked kernel
// reader can. With it off, each mutation and each iterator call is atomic
// between the scheduling points around it. That loses no interleaving when
// every reader of a tree holds the tree's lock and every writer holds it for
// write (the faithful kernel): no task can look at the tree between two
// stores of a mutation, so a point there would only reorder the mutation's
// stores against work on other objects, which commutes with them. The
// harness turns the steps on whenever a variant or a lock mutant is in
// force, because those may let a reader in without the lock.

// treeWrite returns the Step hook of a mutation of the interval tree named
// name by t at site: a scheduling point before each store, or nil.
func treeWrite[T any](k *Kernel, t *sched.Task, name, site string) ivtree.Step[T] {
	if !k.TreeSteps {
		return nil
	}
	return func(_ *ivtree.Node[T], what string) { t.Point(sched.KindWrite, name, site, what) }
}

// treeRead returns the Step hook of a walker's iterator: a scheduling point
// before each read of a node, after which use checks that the node's item
// (an AVC, a VMA) is still alive; or nil.
func treeRead[T any](k *Kernel, t *sched.Task, name, site string, use func(T)) ivtree.Step[T] {
	if !k.TreeSteps {
		return nil
	}
	return func(n *ivtree.Node[T], what string) {
		t.Point(sched.KindWalk, name, site, what)
		if n != nil {
			use(n.Item)
		}
	}
}

// iterate runs one iterator call of a walker and turns the NULL
// dereference an unlocked iterator can hit into the kernel oops it would be.
func iterate[T any](t *sched.Task, tree, site string, call func() *ivtree.Node[T]) (n *ivtree.Node[T]) {
	defer func() {
		if r := recover(); r != nil {
			nd, ok := r.(*ivtree.NullDeref)
			if !ok {
				panic(r)
			}
			t.Fail(sched.Violation{Invariant: "kernel-oops", Detail: site + ": NULL pointer dereference iterating " + tree + " (" + nd.What + "): the tree changed under an iterator that does not hold its lock"})
		}
	}()
	return call()
}

// treeOp runs one mutation of an interval tree by t and turns what a tree
// corrupted by another writer makes the mutation do into what the kernel
// would hit: an endless descent (ivtree.Lockup) is a soft lockup, a NULL
// link followed is an oops. A tree only its lock's holders change is never
// corrupted, so neither happens in the faithful kernel.
func treeOp(t *sched.Task, tree, site string, op func()) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		what := ""
		switch e := r.(type) {
		case *ivtree.Lockup:
			what = "soft lockup changing " + tree + ": " + e.Error()
		case runtime.Error:
			if !strings.Contains(e.Error(), "nil pointer dereference") {
				panic(r)
			}
			what = "NULL pointer dereference changing " + tree
		default:
			panic(r)
		}
		t.Fail(sched.Violation{Invariant: "kernel-oops", Detail: site + ": " + what + ": two writers changed the tree at once"})
	}()
	op()
}

// treeCorrupt reports the rbtree corruption that an insert of a node already
// in the tree, or a remove of one that is not, is in the kernel (its
// rb_insert_color / rb_erase rewrite links that belong to other nodes): two
// writers changed one tree at once, or one changed a node another had
// already taken out. A finding about the kernel, not the harness's bug: the
// faithful kernel's rmap locks make it impossible.
func treeCorrupt(t *sched.Task, bad bool, node, tree, site, what, state string) {
	if bad {
		t.Fail(sched.Violation{Invariant: "vma-tree", Detail: fmt.Sprintf("%s %s %s %s, which is %s the tree: the rbtree is corrupted (two writers changed it at once)", site, what, node, tree, state)})
	}
}
