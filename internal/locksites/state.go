package locksites

import (
	"slices"
	"strings"
)

// state is what the flow analysis knows at a point of a function: a set of
// paths, each with the conditions known on it (so that "if flag { lock }
// ... if flag { unlock }" is not taken for a held lock), the acquisitions
// that may be held and the classes deferred calls release. No path: the
// point is unreachable.
type state struct {
	paths []path
}

type path struct {
	facts    string   // the known conditions: "key=1\n" lines, sorted
	live     uint64   // acquisitions (by index in fn.acqs) that may be held
	deferred classSet // classes that deferred calls release
}

const maxPaths = 32

func (s state) ok() bool { return len(s.paths) > 0 }

func start() state { return state{paths: []path{{}}} }

// join merges two states; paths with the same facts merge.
func join(a, b state) state {
	if !a.ok() {
		return b
	}
	if !b.ok() {
		return a
	}
	out := state{paths: slices.Clone(a.paths)}
	for _, p := range b.paths {
		out = out.add(p)
	}
	return out
}

func (s state) add(p path) state {
	for i := range s.paths {
		if s.paths[i].facts == p.facts {
			s.paths[i].live |= p.live
			s.paths[i].deferred |= p.deferred
			return s
		}
	}
	s.paths = append(s.paths, p)
	slices.SortFunc(s.paths, func(a, b path) int { return strings.Compare(a.facts, b.facts) })
	if len(s.paths) > maxPaths { // too many: forget the facts
		var m path
		for _, q := range s.paths {
			m.live |= q.live
			m.deferred |= q.deferred
		}
		s.paths = []path{m}
	}
	return s
}

func (s state) equal(o state) bool { return slices.Equal(s.paths, o.paths) }

// each applies fn to every path.
func (s state) each(fn func(p path) path) state {
	out := state{paths: make([]path, 0, len(s.paths))}
	for _, p := range s.paths {
		out = out.add(fn(p))
	}
	return out
}

// fact returns the value of key on p, if known.
func (p path) fact(key string) (val, known bool) {
	for _, l := range strings.Split(p.facts, "\n") {
		if i := strings.LastIndexByte(l, '='); i >= 0 && l[:i] == key {
			return l[i+1:] == "1", true
		}
	}
	return false, false
}

func (p path) with(key string, val bool) path {
	v := "0"
	if val {
		v = "1"
	}
	lines := strings.Split(strings.TrimSuffix(p.facts, "\n"), "\n")
	if p.facts == "" {
		lines = nil
	}
	lines = append(lines, key+"="+v)
	slices.Sort(lines)
	p.facts = strings.Join(lines, "\n") + "\n"
	return p
}

// merged is s as one path without facts: a loop's back edge keeps what
// may be held, not the conditions (which the loop may change).
func merged(s state) state {
	if !s.ok() {
		return s
	}
	var m path
	for _, p := range s.paths {
		m.live |= p.live
		m.deferred |= p.deferred
	}
	return state{paths: []path{m}}
}
