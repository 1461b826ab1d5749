package oracle

import (
	"time"

	"mmrace/kernelsim"
)

// Options configure Diff.
type Options struct {
	// Timeout bounds the host side of one program; 0 means 30s.
	Timeout time.Duration
}

// Step is one op of a program and what each side observed after it.
type Step struct {
	Op    kernelsim.Op `json:"-"`
	Text  string       `json:"op"`             // "t1: mremap mm1 0x10+1 resize 2"
	Skip  string       `json:"skip,omitempty"` // why the host did not run it
	Host  Obs          `json:"host"`
	Model Obs          `json:"model"`
}

// Report is the outcome of running one program on the model and on the
// kernel of this machine.
type Report struct {
	Program *kernelsim.Program `json:"-"`
	// Steps are the ops that both sides ran, up to and including the first
	// difference (every op when there is none).
	Steps []Step      `json:"steps"`
	First *Difference `json:"difference,omitempty"` // nil: the two sides agree
	// Limit is set when the program reaches a deliberate limit of the
	// model: the ops from there on are not compared.
	Limit *LimitHit `json:"limit,omitempty"`
	// Skipped lists the ops the host has no counterpart for, with the
	// reason; their snapshots are still compared.
	Skipped []string `json:"skipped,omitempty"`
	// FaultAround lists the pages the kernel's fault-around mapped ahead of
	// the model, which the comparison tolerated (LIMITS.md), with the op
	// after which each was first seen.
	FaultAround []string `json:"fault_around,omitempty"`
}

// Differs reports whether the two sides disagree.
func (r *Report) Differs() bool { return r.First != nil }

// Diff runs p's ops in program order (setup, then t1's, t2's, ...) on the
// model and on the host kernel, snapshots both after every op, and returns
// the first difference. An error is the host side's failure: it wraps
// ErrUnavailable when this machine cannot run the helper, and otherwise
// starts with InternalPrefix.
func Diff(p *kernelsim.Program, opts Options) (*Report, error) {
	helper, err := Helper()
	if err != nil {
		return nil, err
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	pl := newPlan(p)
	hostObs, err := runHost(pl, helper, opts.Timeout)
	if err != nil {
		return nil, err
	}
	modelObs := runModel(p, pl)
	rep := &Report{Program: p, Limit: pl.limit}
	seen := map[string]bool{}
	for i, st := range pl.steps {
		if st.skip != "" {
			rep.Skipped = append(rep.Skipped, st.text+": "+st.skip)
		}
		if i >= len(modelObs) {
			break // the model stopped at a violation
		}
		rep.Steps = append(rep.Steps, Step{Op: st.op, Text: st.text, Skip: st.skip, Host: hostObs[i], Model: modelObs[i]})
		d, ahead := compare(i, st, hostObs[i], modelObs[i])
		for _, a := range ahead {
			if !seen[a] {
				seen[a] = true
				rep.FaultAround = append(rep.FaultAround, a+" after "+st.text)
			}
		}
		if d != nil {
			rep.First = d
			break
		}
	}
	return rep, nil
}
