package main

import (
	"errors"
	"fmt"

	"mmrace/fuzz"
	"mmrace/kernelsim"
)

// crashInput is what a FuzzKernel crash file decodes to besides its program:
// the engine that wrote it and the schedule bytes FuzzKernel ran under.
type crashInput struct {
	engine fuzz.Engine
	sched  []byte // for fuzz.Strategy, as fuzz.Run uses them
}

// readInput reads FILE for replay and minimize: a FuzzKernel crash file of
// go test -fuzz or of a libFuzzer binary (fuzz.ReadCrashInput tells which)
// gives its program and a crashInput; anything else is read as a corpus
// scenario or program, and crash is nil.
func readInput(file string) (p *kernelsim.Program, crash *crashInput, err error) {
	data, eng, err := fuzz.ReadCrashInput(file)
	switch {
	case err == nil:
		p, sb := fuzz.Decode(data)
		return p, &crashInput{engine: eng, sched: sb}, nil
	case errors.Is(err, fuzz.ErrNotCrashFile):
		p, err := readProgram(file)
		return p, nil, err
	}
	return nil, nil, err
}

// loadInput is readInput with a -variants flag applied (empty keeps the
// program's own), as loadProgram; errors are usage errors.
func loadInput(file, variants string) (*kernelsim.Program, *crashInput, error) {
	p, crash, err := readInput(file)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if variants != "" {
		if p.Variants, err = kernelsim.ParseVariants(variants); err != nil {
			return nil, nil, fmt.Errorf("%w: -variants: %v", errUsage, err)
		}
	}
	return p, crash, nil
}
