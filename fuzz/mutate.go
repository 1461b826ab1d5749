package fuzz

import (
	"math/rand/v2"

	"mmrace/kernelsim"
)

// Mutate returns a copy of data with 1-4 random byte edits: replace,
// insert, delete, or append schedule bytes. An insertion or deletion
// inside the program part keeps the length byte in step, so the edit stays
// in the part it was made in. (hunt.Search's mutation; stress draws its
// inputs with it too.)
func Mutate(rng *rand.Rand, data []byte) []byte {
	out := append([]byte(nil), data...)
	for n := 1 + rng.IntN(4); n > 0; n-- {
		switch op := rng.IntN(4); {
		case op == 0 && len(out) > 1:
			out[1+rng.IntN(len(out)-1)] = byte(rng.UintN(256))
		case op == 1 && len(out) > 1:
			i := 1 + rng.IntN(len(out)-1)
			out = append(out[:i], append([]byte{byte(rng.UintN(256))}, out[i:]...)...)
			if int(out[0]) >= i && out[0] < 255 { // inside the program part: it grows
				out[0]++
			}
		case op == 2 && len(out) > 2:
			i := 1 + rng.IntN(len(out)-1)
			out = append(out[:i], out[i+1:]...)
			if int(out[0]) >= i && out[0] > 0 {
				out[0]--
			}
		default:
			for j := rng.IntN(8); j >= 0; j-- {
				out = append(out, byte(rng.UintN(256)))
			}
		}
	}
	return out
}

// MutateSchedule returns a copy of data with its program part kept and
// 1-4 edits of its schedule part: replace or append bytes. The same
// program under another interleaving.
func MutateSchedule(rng *rand.Rand, data []byte) []byte {
	out := append([]byte(nil), data...)
	prog := 1
	if len(out) > 0 {
		prog = min(1+int(out[0]), len(out))
	}
	for n := 1 + rng.IntN(4); n > 0; n-- {
		if len(out) > prog && rng.IntN(2) == 0 {
			out[prog+rng.IntN(len(out)-prog)] = byte(rng.UintN(256))
			continue
		}
		for j := rng.IntN(8); j >= 0; j-- {
			out = append(out, byte(rng.UintN(256)))
		}
	}
	return out
}

// RandomInput draws a fuzz input: a template with random program choices
// after it (up to 64 bytes: enough for every task and op decision of a
// program) and random schedule bytes.
func RandomInput(rng *rand.Rand) []byte {
	prog := make([]byte, 1+rng.IntN(64))
	prog[0] = byte(rng.IntN(len(templates)))
	for i := 1; i < len(prog); i++ {
		prog[i] = byte(rng.UintN(256))
	}
	sched := make([]byte, 8+rng.IntN(32))
	for i := range sched {
		sched[i] = byte(rng.UintN(256))
	}
	return Encode(prog, sched)
}

// Generate draws a random program of the decoder's with the given number
// of tasks (at least 1): a template, and random choices for every decision
// after it (more bytes than a program reads, so that no choice falls back
// to 0). It is the random program generator of the tests that want
// programs without schedule bytes, of a width they choose: the faithful
// kernel under PCT (harness), the oracle's comparison with the host
// kernel, the lock site census. The fuzzer, stress and hunt decode inputs
// (RandomInput, Mutate) instead.
func Generate(rng *rand.Rand, tasks int) *kernelsim.Program {
	if tasks < 1 {
		panic("mmrace internal error: fuzz.Generate of a program without tasks")
	}
	choices := make([]byte, 255)
	choices[0] = byte(rng.IntN(len(templates)))
	for i := 1; i < len(choices); i++ {
		choices[i] = byte(rng.UintN(256))
	}
	return generate(&chooser{b: choices}, tasks)
}

// Templates returns how many templates the decoder has: the first program
// byte of an input chooses one (RandomInputFor).
func Templates() int { return len(templates) }

// RandomInputFor is RandomInput with the template chosen: template tmpl
// (modulo the number of templates), random choices after it.
func RandomInputFor(rng *rand.Rand, tmpl int) []byte {
	in := RandomInput(rng)
	in[1] = byte(tmpl % len(templates)) // in[0] is the program's length (Encode)
	return in
}
