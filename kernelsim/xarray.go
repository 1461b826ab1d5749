package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/invnames"
	"mmrace/kernelsim/sched"
)

// The page cache's xarray (i_pages). The kernel's is a radix tree of
// nodes: xas_store() may allocate nodes, rewrites the slots and the
// counts of the nodes on the way, and frees a node a deletion emptied
// (xas_delete_node), all under the xa_lock; lockless readers are safe
// (RCU), a second writer is not. The model's slots are one atomic pointer
// each, so that two stores, even of different slots, could never conflict
// there: a page cache safer to write than the kernel's. xaBegin and xaEnd
// give the model's xarray the kernel's rule back: a writer's update spans
// the scheduling point before its store (the step that makes it), and a
// second writer of the same file's xarray arriving inside that window has
// corrupted the tree (kernel-oops), which only a missing xa_lock allows.

// xaBegin opens t's update of f's i_pages, before the scheduling point of
// its store; xaEnd closes it after the store.
func (f *File) xaBegin(t *sched.Task, site string) {
	me := int64(t.ID()) + 1
	if other := f.xaWriter.Swap(me); other != 0 && other != me {
		t.Fail(sched.Violation{Invariant: invnames.KernelOops, Detail: fmt.Sprintf("%s: xas_store into %s's i_pages while %s's store is in progress: two writers changed the xarray at once (its nodes and counts are not written atomically; the xa_lock serialises them)", site, f.name, sched.TaskName(int(other-1)))})
	}
}

func (f *File) xaEnd(t *sched.Task) {
	f.xaWriter.CompareAndSwap(int64(t.ID())+1, 0)
}
