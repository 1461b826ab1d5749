package sched

import (
	"fmt"
	"strconv"
)

// Text is the object and the detail of an event recorded by PointF,
// RecordF or AmendF. Each part is plain text (Obj, Detail) or a format
// (Objf, Detailf) whose operands are kept by value, typed, and turned into
// text only when the trace is read: printed (Event.String, Trace.Tail),
// hashed (Trace.Hash) or shown (Event.ObjText, Event.DetailText). A run that
// nobody reads never formats them. Build a Text in the call that records
// it, with a chain that reads like the text it stands for:
//
//	t.PointF(sched.KindWrite, "move_ptes",
//		sched.Objf("pte %s %#x").S(mm.Name()).N(addr).Detailf("%v -> %v").V(old).V(pte))
//
// The chain works on one Text on the caller's stack (the record calls copy
// it and keep no pointer to it), so recording allocates nothing; a Text is
// for one call, not to be kept and extended for another.
//
// The operands of a format follow it: S for %s (a string), N for %d, %x, %#x
// and %X (an integer), B for %t (a bool), V for %v (a fmt.Stringer, called
// when the text is made). %% is a percent sign; widths and other verbs are
// not supported. A Stringer must describe the value as it was when the event
// happened, so pass pointers to immutable values (a *PTE that is replaced,
// not changed; a program's *Op), or strings and integers: a VMA whose bounds
// change later must be passed as its name and bounds, not as the *VMA.
// Pointer-shaped Stringers are stored without an allocation; other values
// are boxed (one allocation each). A Text takes at most 3 strings, 6
// integers and 2 Stringers across both parts; more is an internal error of
// the caller. Text without a format costs what Point costs: its parts are
// stored in Event.Obj and Event.Detail as they are.
type Text struct {
	obj, det   string // plain text, or formats when objF, detF
	objF, detF bool
	split      bool  // Detail or Detailf was called: the operands before it are the object's
	ns, nn, nv uint8 // operands given
	os, on, ov uint8 // of which the object's (valid when split)
	s          [maxStrings]string
	n          [maxInts]int64
	v          [maxStringers]fmt.Stringer
}

// The operand budget of one Text.
const (
	maxStrings   = 3
	maxInts      = 6
	maxStringers = 2
)

// Obj starts a Text whose object is the plain text s.
func Obj(s string) *Text { return &Text{obj: s} }

// Objf starts a Text whose object is format, made from the operands that
// follow.
func Objf(format string) *Text { return &Text{obj: format, objF: true} }

// Detail starts a Text with no object and the plain detail s (for AmendF).
func Detail(s string) *Text { return &Text{det: s, split: true} }

// Detailf starts a Text with no object and the detail format (for AmendF).
func Detailf(format string) *Text { return &Text{det: format, detF: true, split: true} }

// Detail sets the detail to the plain text s.
func (x *Text) Detail(s string) *Text {
	x.det, x.detF = s, false
	x.splitHere()
	return x
}

// Detailf sets the detail to format, made from the operands that follow.
func (x *Text) Detailf(format string) *Text {
	x.det, x.detF = format, true
	x.splitHere()
	return x
}

func (x *Text) splitHere() {
	if !x.split {
		x.split, x.os, x.on, x.ov = true, x.ns, x.nn, x.nv
	}
}

// S adds a string operand (%s).
func (x *Text) S(s string) *Text {
	if x.ns == maxStrings {
		x.tooMany("string")
	}
	x.s[x.ns] = s
	x.ns++
	return x
}

// N adds an integer operand (%d, %x, %#x, %X).
func (x *Text) N(n int) *Text {
	if x.nn == maxInts {
		x.tooMany("integer")
	}
	x.n[x.nn] = int64(n)
	x.nn++
	return x
}

func (x *Text) addInt(n int64) {
	if x.nn == maxInts {
		x.tooMany("integer")
	}
	x.n[x.nn] = n
	x.nn++
}

// B adds a bool operand (%t).
func (x *Text) B(b bool) *Text {
	n := int64(0)
	if b {
		n = 1
	}
	x.addInt(n)
	return x
}

// V adds a fmt.Stringer operand (%v), formatted when the text is made.
func (x *Text) V(v fmt.Stringer) *Text {
	if x.nv == maxStringers {
		x.tooMany("Stringer")
	}
	x.v[x.nv] = v
	x.nv++
	return x
}

// tooMany reports a Text given more operands of a type than it holds: the
// caller's bug, an internal error of the run.
func (x *Text) tooMany(what string) {
	panic(fmt.Sprintf("%ssched.Text: more %s operands than it holds (%d strings, %d integers, %d Stringers) for %s",
		internalPrefix, what, maxStrings, maxInts, maxStringers, x.format()))
}

func (x *Text) format() string {
	if x.split {
		return strconv.Quote(x.det)
	}
	return strconv.Quote(x.obj)
}

// typed reports whether a part of x is a format (it must be kept with its
// operands); otherwise its parts go to Event.Obj and Event.Detail as they are.
func (x *Text) typed() bool { return x.objF || x.detF }

// objOps returns where the object's operands end (the detail's start).
func (x *Text) objOps() (s, n, v int) {
	if x.split {
		return int(x.os), int(x.on), int(x.ov)
	}
	return int(x.ns), int(x.nn), int(x.nv)
}

// setDetail replaces the detail of x, and its operands, by the detail of d
// (Amend).
func (x *Text) setDetail(d *Text) {
	s, n, v := x.objOps()
	x.ns, x.nn, x.nv = uint8(s), uint8(n), uint8(v)
	x.split, x.os, x.on, x.ov = true, x.ns, x.nn, x.nv
	x.det, x.detF = d.det, d.detF
	ds, dn, dv := d.objOps() // the detail's operands follow the object's
	for _, o := range d.s[ds:d.ns] {
		x.S(o)
	}
	for _, o := range d.n[dn:d.nn] {
		x.addInt(o)
	}
	for _, o := range d.v[dv:d.nv] {
		x.V(o)
	}
}

// appendObj appends the object text of x.
func (x *Text) appendObj(b []byte) []byte {
	if !x.objF {
		return append(b, x.obj...)
	}
	return x.appendf(b, x.obj, 0, 0, 0)
}

// appendDetail appends the detail text of x.
func (x *Text) appendDetail(b []byte) []byte {
	if !x.detF {
		return append(b, x.det...)
	}
	s, n, v := x.objOps()
	return x.appendf(b, x.det, s, n, v)
}

// appendf formats format with the operands of x from indexes si, ni, vi on,
// as fmt.Sprintf would for the supported verbs.
func (x *Text) appendf(b []byte, format string, si, ni, vi int) []byte {
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		i++
		sharp := i < len(format) && format[i] == '#'
		if sharp {
			i++
		}
		if i >= len(format) {
			return append(b, "%!(NOVERB)"...)
		}
		switch verb := format[i]; verb {
		case '%':
			b = append(b, '%')
		case 's':
			if si >= int(x.ns) {
				b = append(b, "%!s(MISSING)"...)
				continue
			}
			b = append(b, x.s[si]...)
			si++
		case 'v':
			if vi >= int(x.nv) {
				b = append(b, "%!v(MISSING)"...)
				continue
			}
			b = appendStringer(b, x.v[vi])
			vi++
		case 'd', 'x', 'X', 't':
			if ni >= int(x.nn) {
				b = append(b, "%!"...)
				b = append(b, verb)
				b = append(b, "(MISSING)"...)
				continue
			}
			b = appendInt(b, verb, sharp, x.n[ni])
			ni++
		default:
			b = append(b, "%!"...)
			b = append(b, verb)
			b = append(b, "(BADVERB)"...)
		}
	}
	return b
}

func appendInt(b []byte, verb byte, sharp bool, n int64) []byte {
	switch verb {
	case 't':
		return strconv.AppendBool(b, n != 0)
	case 'd':
		return strconv.AppendInt(b, n, 10)
	}
	u := uint64(n)
	if n < 0 {
		b, u = append(b, '-'), uint64(-n)
	}
	if sharp {
		b = append(b, '0', verb)
	}
	start := len(b)
	b = strconv.AppendUint(b, u, 16)
	if verb == 'X' {
		for i := start; i < len(b); i++ {
			if c := b[i]; c >= 'a' && c <= 'f' {
				b[i] = c - 'a' + 'A'
			}
		}
	}
	return b
}

// appendStringer appends v.String(), or what fmt prints for a nil interface
// and for a String method that panics.
func appendStringer(b []byte, v fmt.Stringer) (out []byte) {
	if v == nil {
		return append(b, "<nil>"...)
	}
	defer func() {
		if r := recover(); r != nil {
			out = fmt.Appendf(b, "%%!v(PANIC=String method: %v)", r)
		}
	}()
	return append(b, v.String()...)
}
