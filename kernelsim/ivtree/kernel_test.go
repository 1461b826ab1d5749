package ivtree

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// kernelShapes is the output of the kernel's own interval tree on the
// harness's sequences (testdata/README.md says how it was made).
const kernelShapes = "testdata/kernel_shapes.txt"

// TestKernelShapes replays every operation of the kernel harness's output
// with the port and requires the same text: the same stores in the same order
// during every operation, the same shape (pre-order, colors, __subtree_last,
// parent links) and leftmost cache after it, the same iterations over the
// same ranges with the same reads in the same order, and after every remove
// the same stale pointers left in the erased node and the same iter_next walk
// from it.
func TestKernelShapes(t *testing.T) {
	f, err := os.Open(kernelShapes)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	var r replayer
	var trace accessTrace
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	line, ops, checked := 0, 0, 0
	for sc.Scan() {
		line++
		want := sc.Text()
		fields := strings.Fields(want)
		at := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("%s:%d (after %q): %s", kernelShapes, line, r.last, fmt.Sprintf(format, args...))
		}
		var got string
		switch fields[0] {
		case "seq":
			r = replayer{}
			continue
		case "insert", "insert_after", "remove":
			trace.line("")
			if err := r.apply(fields, trace.step); err != nil {
				at("%v", err)
			}
			ops++
			continue
		case "shape":
			got = r.shapeLine()
		case "iter", "stale_iter":
			start, last, err := rangeOf(fields)
			if err != nil {
				at("%v", err)
			}
			trace.line("")
			if fields[0] == "iter" {
				got = iterLine("iter", start, last, r.tree.IterFirst(start, last, trace.step), trace.step)
			} else {
				got = iterLine("stale_iter", start, last, IterNext(r.removed, start, last, trace.step), trace.step)
			}
		case "stores", "reads":
			got = trace.line(fields[0])
		case "stale":
			got = staleLine(r.removed)
		default:
			at("unknown line %q", want)
		}
		if got != want {
			at("\nkernel: %s\nport:   %s", want, got)
		}
		checked++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if ops < 1000 {
		t.Fatalf("%s: only %d operations replayed", kernelShapes, ops)
	}
	t.Logf("%d operations replayed, %d lines identical to the kernel's", ops, checked)
}

// replayer applies the harness's operations to a pool of nodes whose Item is
// the harness's node id.
type replayer struct {
	tree    Tree[int]
	pool    []*Node[int]
	removed *Node[int] // the node removed last
	last    string     // the operation applied last, for messages
}

func (r *replayer) node(id int) *Node[int] {
	for len(r.pool) <= id {
		r.pool = append(r.pool, &Node[int]{Item: len(r.pool)})
	}
	return r.pool[id]
}

func (r *replayer) apply(f []string, step Step[int]) error {
	r.last = strings.Join(f, " ")
	args := make([]int, len(f)-1)
	for i, s := range f[1:] {
		v, err := strconv.Atoi(s)
		if err != nil {
			return err
		}
		args[i] = v
	}
	switch {
	case f[0] == "insert" && len(args) == 3:
		n := r.node(args[0])
		n.Start, n.Last = args[1], args[2]
		r.tree.Insert(n, step)
	case f[0] == "insert_after" && len(args) == 4:
		n := r.node(args[0])
		n.Start, n.Last = args[2], args[3]
		r.tree.InsertAfter(n, r.node(args[1]), step)
	case f[0] == "remove" && len(args) == 1:
		r.removed = r.node(args[0])
		r.tree.Remove(r.removed, step)
	default:
		return fmt.Errorf("bad operation %q", r.last)
	}
	return nil
}

// rangeOf parses "iter START LAST: ..." and "stale_iter START LAST: ...".
func rangeOf(f []string) (start, last int, err error) {
	if len(f) < 3 {
		return 0, 0, fmt.Errorf("bad iteration line")
	}
	if start, err = strconv.Atoi(f[1]); err != nil {
		return 0, 0, err
	}
	last, err = strconv.Atoi(strings.TrimSuffix(f[2], ":"))
	return start, last, err
}

// maxVisit bounds an iteration as the harness does.
const maxVisit = 200

// iterLine continues an iteration from n with IterNext and prints it as the
// harness does.
func iterLine(label string, start, last int, n *Node[int], step Step[int]) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d %d:", label, start, last)
	for i := 0; n != nil && i < maxVisit; i++ {
		fmt.Fprintf(&b, " %d", n.Item)
		n = IterNext(n, start, last, step)
	}
	return b.String()
}

// shapeLine prints the tree as the harness does.
func (r *replayer) shapeLine() string {
	var b strings.Builder
	b.WriteString("shape ")
	writeShape(&b, r.tree.root, nil)
	b.WriteString(" leftmost=")
	writeID(&b, r.tree.leftmost)
	return b.String()
}

// writeShape writes the subtree at n as the harness does:
// id:color:start-last^subtree_last, "!" if its parent is not expected, then
// (left,right) unless both are nil.
func writeShape(b *strings.Builder, n, expected *Node[int]) {
	if n == nil {
		b.WriteByte('.')
		return
	}
	fmt.Fprintf(b, "%d:%c:%d-%d^%d", n.Item, colorOf(n), n.Start, n.Last, n.subtreeLast)
	if n.pc.parent != expected {
		b.WriteByte('!')
	}
	if n.left != nil || n.right != nil {
		b.WriteByte('(')
		writeShape(b, n.left, n)
		b.WriteByte(',')
		writeShape(b, n.right, n)
		b.WriteByte(')')
	}
}

func colorOf(n *Node[int]) byte {
	if n.pc.black {
		return 'B'
	}
	return 'r'
}

func writeID(b *strings.Builder, n *Node[int]) {
	if n == nil {
		b.WriteByte('-')
		return
	}
	b.WriteString(strconv.Itoa(n.Item))
}

// staleLine is the harness's "stale" line: what an erased node still holds.
func staleLine(n *Node[int]) string {
	var b strings.Builder
	fmt.Fprintf(&b, "stale %d p=", n.Item)
	writeID(&b, n.pc.parent)
	b.WriteString(" l=")
	writeID(&b, n.left)
	b.WriteString(" r=")
	writeID(&b, n.right)
	fmt.Fprintf(&b, " c=%c sub=%d", colorOf(n), n.subtreeLast)
	return b.String()
}
