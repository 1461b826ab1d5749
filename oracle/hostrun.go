package oracle

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"mmrace/kernelsim"
)

// runHost runs the plan's ops on the kernel of this machine, one at a time
// in program order, each in the process of its mm, and snapshots every
// live process after each op. Ops the host cannot run get the result
// "skipped" and leave the snapshots as they were.
func runHost(pl *plan, helper string, timeout time.Duration) (obs []Obs, err error) {
	h, err := startHost(helper, max(len(pl.slots), 1), pl.pages, timeout)
	if err != nil {
		return nil, err
	}
	defer func() {
		if msg := h.close(); err != nil && msg != "" {
			err = fmt.Errorf("%w\nhelper stderr:\n%s", err, msg)
		}
	}()
	slot := map[string]int{}
	for i, m := range pl.slots {
		slot[m] = i
	}
	for i, f := range pl.files {
		if _, err := h.call(0, fmt.Sprintf("file %d %d %s", i, f.Pages, f.Name)); err != nil {
			return nil, err
		}
	}
	// The other declared mms: fresh processes, before any op runs.
	for j := 1; j < pl.declared; j++ {
		if _, err := h.call(0, fmt.Sprintf("spawn %d", j)); err != nil {
			return nil, err
		}
	}
	exited := map[string]bool{}
	var last []MMState
	for _, st := range pl.steps {
		o := Obs{Result: Result{Outcome: "skipped", Detail: st.skip}}
		if st.slot >= 0 {
			rep, err := h.call(st.slot, st.req)
			if err != nil {
				return nil, err
			}
			if o.Result, err = parseResult(rep); err != nil {
				return nil, fmt.Errorf(InternalPrefix+"%s: %v", st.text, err)
			}
			if st.op.Verb != kernelsim.OpLoad {
				o.Result.Value = 0 // mremap answers where the mapping went
			}
			if strings.HasPrefix(st.req, "exit") && o.Result.Outcome == "ok" {
				exited[st.op.MM] = true
			}
		}
		if st.slot < 0 && last != nil {
			o.MMs = last
		} else {
			for _, m := range st.alive {
				if exited[m] {
					o.MMs = append(o.MMs, MMState{MM: m, Gone: true, VMAs: []VMA{}, Pages: []Page{}})
					continue
				}
				rep, err := h.call(slot[m], "snap")
				if err != nil {
					return nil, err
				}
				s, err := parseSnapshot(m, rep)
				if err != nil {
					return nil, fmt.Errorf(InternalPrefix+"snapshot of %s after %s: %v", m, st.text, err)
				}
				o.MMs = append(o.MMs, s)
			}
		}
		last = o.MMs
		obs = append(obs, o)
	}
	return obs, nil
}

// parseResult reads an op's reply: "ok [VALUE]", "err ENAME", "sig NAME".
func parseResult(rep string) (Result, error) {
	f := strings.Fields(rep)
	switch {
	case len(f) >= 1 && f[0] == "ok":
		r := Result{Outcome: "ok"}
		if len(f) == 2 {
			v, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				return r, fmt.Errorf("unexpected reply %q", rep)
			}
			r.Value = v
		}
		return r, nil
	case len(f) == 2 && (f[0] == "err" || f[0] == "sig"):
		return Result{Outcome: f[1]}, nil
	}
	return Result{}, fmt.Errorf("unexpected reply %q", rep)
}

// parseSnapshot reads a "snap" reply: "ok", then "v START END PERMS PGOFF
// FILE" and "p ADDR VALUE [f]" lines.
func parseSnapshot(mm, rep string) (MMState, error) {
	s := MMState{MM: mm, VMAs: []VMA{}, Pages: []Page{}}
	lines := strings.Split(strings.TrimRight(rep, "\n"), "\n")
	if lines[0] != "ok" {
		return s, fmt.Errorf("unexpected reply %q", lines[0])
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		switch {
		case len(f) == 6 && f[0] == "v":
			var v VMA
			var err1, err2, err3 error
			v.Start, err1 = strconv.Atoi(f[1])
			v.End, err2 = strconv.Atoi(f[2])
			v.Pgoff, err3 = strconv.Atoi(f[4])
			if err1 != nil || err2 != nil || err3 != nil || len(f[3]) != 4 {
				return s, fmt.Errorf("bad VMA line %q", l)
			}
			v.Prot, v.Shared = prot(f[3][0] == 'r', f[3][1] == 'w'), f[3][3] == 's'
			if f[5] == "-" {
				v.Pgoff = -1
			} else {
				v.File = f[5]
			}
			s.VMAs = append(s.VMAs, v)
		case (len(f) == 3 || len(f) == 4 && f[3] == "f") && f[0] == "p":
			a, err1 := strconv.Atoi(f[1])
			val, err2 := strconv.ParseUint(f[2], 10, 64)
			if err1 != nil || err2 != nil {
				return s, fmt.Errorf("bad page line %q", l)
			}
			s.Pages = append(s.Pages, Page{Addr: a, Value: val, File: len(f) == 4})
		default:
			return s, fmt.Errorf("bad snapshot line %q", l)
		}
	}
	return s, nil
}
