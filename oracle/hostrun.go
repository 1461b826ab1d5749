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
		if st.slot >= 0 && exited[st.op.MM] {
			// The process is gone: nothing can run in it (the model
			// refuses such an op with ESRCH, as a syscall on a pid that
			// exited would).
			o.Result = Result{Outcome: "ESRCH"}
			if st.op.Verb == kernelsim.OpFork {
				exited[st.op.Child] = true // never came to be
			}
		} else if st.slot >= 0 {
			rep, err := h.call(st.slot, st.req)
			if err != nil {
				return nil, err
			}
			if o.Result, err = parseResult(rep); err != nil {
				return nil, fmt.Errorf(InternalPrefix+"%s: %v", st.text, err)
			}
			if o.Result.Outcome == "ok" && st.op.Verb == kernelsim.OpMremap && st.op.MayMove && int64(o.Result.Value) != int64(st.op.Addr) {
				// A growth that moved: the kernel chose the place (outside
				// the window); put it where the model's top-down choice in
				// its address space is, computed from the layout before the
				// op, which the two sides agreed on.
				to, ok := topDown(last, st.op.MM, st.op.NewLen, pl.pages)
				if !ok {
					return nil, fmt.Errorf(InternalPrefix+"%s: the kernel moved the mapping, but the window has no free range of %d pages", st.text, st.op.NewLen)
				}
				if _, err := h.call(st.slot, fmt.Sprintf("relocate %d %d %d", int64(o.Result.Value), st.op.NewLen, to)); err != nil {
					return nil, err
				}
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
			v, err := strconv.ParseInt(f[1], 10, 64) // a load's value, or where mremap put the mapping (maybe below the window)
			if err != nil {
				u, uerr := strconv.ParseUint(f[1], 10, 64)
				if uerr != nil {
					return r, fmt.Errorf("unexpected reply %q", rep)
				}
				v = int64(u)
			}
			r.Value = uint64(v)
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

// topDown is the model's get_unmapped_area for mm in the snapshot mms: the
// highest free range of n pages below pages.
func topDown(mms []MMState, mm string, n, pages int) (int, bool) {
	top := pages
	var vmas []VMA
	for _, s := range mms {
		if s.MM == mm {
			vmas = s.VMAs
		}
	}
	for i := len(vmas) - 1; i >= -1; i-- {
		lo := 0
		if i >= 0 {
			lo = vmas[i].End
		}
		if top-lo >= n {
			return top - n, true
		}
		if i >= 0 {
			top = vmas[i].Start
		}
	}
	return 0, false
}
