package ivtree

import (
	"strconv"
	"strings"
)

// accessTrace records, through the Step hook, each access a mutation or an
// iterator announces, as the kernel harness prints them: "<id>.<field>" for a
// node's field (pc, l, r, sub, start, last) and "root" or "leftmost" for the
// tree's. The field is read from the Step's description, except for
// rb_link_node's "*rb_link = node", which is resolved by looking at which
// link changed.
type accessTrace struct {
	out  []string
	link *pendingLink // an rb_link_node store not yet resolved
}

// pendingLink is a "*rb_link = node" store into parent's left or right link.
type pendingLink struct {
	parent      *Node[int]
	left, right *Node[int]
	at          int // its index in out
}

// step is the Step hook that records.
func (a *accessTrace) step(n *Node[int], what string) {
	a.resolve()
	field := accessField(what)
	if field == "link" {
		if n == nil {
			field = "root"
		} else {
			a.link = &pendingLink{parent: n, left: n.left, right: n.right, at: len(a.out)}
		}
	}
	if n == nil {
		a.out = append(a.out, field)
	} else {
		a.out = append(a.out, strconv.Itoa(n.Item)+"."+field)
	}
}

// resolve names the link that a pending rb_link_node store changed; it is
// called once the store has happened.
func (a *accessTrace) resolve() {
	if l := a.link; l != nil {
		f := "r"
		if l.parent.left != l.left {
			f = "l"
		}
		a.out[l.at] = strconv.Itoa(l.parent.Item) + "." + f
		a.link = nil
	}
}

// line returns the trace as the harness prints it, after label, and starts
// a new one.
func (a *accessTrace) line(label string) string {
	a.resolve()
	var b strings.Builder
	b.WriteString(label)
	for _, s := range a.out {
		b.WriteByte(' ')
		b.WriteString(s)
	}
	a.out = a.out[:0]
	return b.String()
}

// accessField names the field a Step's description says is accessed.
func accessField(what string) string {
	_, stmt, _ := strings.Cut(what, ": ")
	if rest, ok := strings.CutPrefix(stmt, "read "); ok {
		switch {
		case strings.Contains(rest, "root->rb_root.rb_node"):
			return "root"
		case strings.Contains(rest, "rb_leftmost"):
			return "leftmost"
		case strings.Contains(rest, "rb_left"):
			return "l"
		case strings.Contains(rest, "rb_right"):
			return "r"
		case strings.Contains(rest, "subtree_last"):
			return "sub"
		case strings.Contains(rest, "ITSTART"):
			return "start"
		case strings.Contains(rest, "ITLAST"):
			return "last"
		case strings.Contains(rest, "rb_parent("):
			return "pc"
		}
		return "?"
	}
	switch {
	case stmt == "*rb_link = node":
		return "link"
	case strings.Contains(stmt, "subtree_last"):
		return "sub"
	case strings.Contains(stmt, "rb_leftmost"):
		return "leftmost"
	case strings.Contains(stmt, "root->rb_node"):
		return "root"
	case strings.Contains(stmt, "rb_set_parent"), strings.Contains(stmt, "rb_set_black"),
		strings.Contains(stmt, "__rb_parent_color ="):
		return "pc"
	case strings.Contains(stmt, "->rb_left"):
		return "l"
	case strings.Contains(stmt, "->rb_right"):
		return "r"
	}
	return "?"
}
