// Package a is the scan's fixture: each way of reporting a name, and two
// that the scan must refuse.
package a

import "fixture/c"

type Violation struct{ Invariant string }

const own = "own-constant"

func lits() []Violation {
	return []Violation{
		Violation{Invariant: "literal-name"},
		Violation{Invariant: own},
		Violation{Invariant: c.Other},
	}
}

// Build is a builder: its parameter name becomes the invariant.
func Build(name string) Violation { return Violation{Invariant: name} }

// wrap is a builder of a builder.
func wrap(x int, inv string) Violation { return Build(inv) }

func uses() {
	_ = Build("via-builder")
	_ = wrap(1, "via-wrapper")
	_ = Violation{Invariant: pick()} // refused: a call
	name := pick()
	_ = Build(name) // refused: a variable
}

func pick() string { return "p" }
