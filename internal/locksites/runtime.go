package locksites

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"mmrace/kernelsim"
	"mmrace/kernelsim/ksync"
)

// Identify returns the identity of the acquisition whose call stack is
// pcs (from the ksync primitive outwards): skip ksync's frames, take the
// first kernelsim frame, and the caller's while the frame's line is a
// delegated acquisition. A frame that ran a deferred call shows the line
// its function returned at; it stands at the defer statement's call, as in
// the static chains. It is nil when no kernelsim frame calls ksync.
func (ss *Sites) Identify(pcs []uintptr) []Pos {
	frames := runtime.CallersFrames(pcs)
	var chain []Pos
	callee := ""
	for {
		fr, more := frames.Next()
		switch {
		case strings.HasPrefix(fr.Function, ksyncPath+"."):
			if len(chain) > 0 {
				return chain
			}
		case strings.HasPrefix(fr.Function, kernelsimPath+"."):
			p := Pos{File: filepath.Base(fr.File), Line: fr.Line}
			if d, ok := ss.deferred[[2]string{fr.Function, callee}]; ok {
				p = d
			}
			chain = append(chain, p)
			if !ss.delegated[p] {
				return chain
			}
		default:
			return chain
		}
		if !more {
			return chain
		}
		callee = fr.Function
	}
}

// Mutant returns a mutant of kind for site: it matches the acquisitions
// Identify identifies as the site. Identification is cached by call stack.
func (ss *Sites) Mutant(site *Site, kind ksync.MutantKind) *ksync.Mutant {
	want := chainKey(site.Chain)
	var mu sync.Mutex
	cache := map[string]bool{}
	identify := ss.Identify
	if site.IsFlush() {
		identify = identifyFlushChain
	}
	return &ksync.Mutant{Kind: kind, Class: site.Class, Match: func(_ ksync.Acquisition, pcs []uintptr) bool {
		key := pcsKey(pcs)
		mu.Lock()
		v, ok := cache[key]
		mu.Unlock()
		if !ok {
			v = chainKey(identify(pcs)) == want
			mu.Lock()
			cache[key] = v
			mu.Unlock()
		}
		return v
	}}
}

// pcsKey is a call stack as a map key (its bytes).
func pcsKey(pcs []uintptr) string {
	if len(pcs) == 0 {
		return ""
	}
	return string(unsafe.Slice((*byte)(unsafe.Pointer(&pcs[0])), len(pcs)*int(unsafe.Sizeof(pcs[0]))))
}

// Census records every acquisition of the runs it is set on (as the
// mutant of an Env, it matches nothing): which site, how often, with which
// class and trylock-ness, and the acquisitions that are no site.
type Census struct {
	ss      *Sites
	mu      sync.Mutex
	Hits    map[*Site]int
	Seen    map[*Site]ksync.Acquisition // the first acquisition seen at each site
	Unknown map[string]ksync.Acquisition
	cache   map[string]*Site
}

// NewCensus returns an empty census of ss's sites.
func (ss *Sites) NewCensus() *Census {
	return &Census{ss: ss, Hits: map[*Site]int{}, Seen: map[*Site]ksync.Acquisition{}, Unknown: map[string]ksync.Acquisition{}, cache: map[string]*Site{}}
}

// Mutant returns the census as a mutant that matches every class and
// mutates nothing.
func (c *Census) Mutant() *ksync.Mutant {
	return &ksync.Mutant{Kind: ksync.MutantRemove, Match: func(a ksync.Acquisition, pcs []uintptr) bool {
		key := pcsKey(pcs)
		c.mu.Lock()
		defer c.mu.Unlock()
		s, ok := c.cache[key]
		if !ok {
			chain := c.ss.Identify(pcs)
			if a.Class == ksync.FlushClass {
				chain = identifyFlushChain(pcs)
			}
			s = c.ss.Lookup(chain)
			if s != nil && s.IsFlush() != (a.Class == ksync.FlushClass) {
				s = nil
			}
			c.cache[key] = s
			if s == nil {
				c.Unknown[chainKey(chain)] = a
			}
		}
		if s != nil {
			c.Hits[s]++
			if _, ok := c.Seen[s]; !ok {
				c.Seen[s] = a
			}
		}
		return false
	}}
}

// Find reads the sites of the kernelsim source this binary was built
// from: the directory of kernelsim.New's source file as the binary
// records it, else kernelsim/ under the working directory or one of its
// parents. It fails when the source there is not the one the binary was
// built from (a function of kernelsim starts on another line).
func Find() (*Sites, error) {
	dir := ""
	pc := reflect.ValueOf(kernelsim.New).Pointer()
	if file, _ := runtime.FuncForPC(pc).FileLine(pc); filepath.IsAbs(file) {
		if _, err := os.Stat(file); err == nil {
			dir = filepath.Dir(file)
		}
	}
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "kernelsim", "kernel.go")); err == nil {
				dir = filepath.Join(d, "kernelsim")
				break
			}
			if filepath.Dir(d) == d {
				return nil, fmt.Errorf("cannot find the kernelsim source (mmrace locks reads it): run mmrace from the repository")
			}
		}
	}
	ss, err := Load(dir)
	if err != nil {
		return nil, err
	}
	return ss, ss.checkBuild()
}

// checkBuild compares the lines where the methods of kernelsim.Kernel
// start in this binary with the source read.
func (ss *Sites) checkBuild() error {
	t := reflect.TypeOf(&kernelsim.Kernel{})
	for i := 0; i < t.NumMethod(); i++ {
		m := t.Method(i)
		f := runtime.FuncForPC(m.Func.Pointer())
		if f == nil {
			continue
		}
		file, line := f.FileLine(f.Entry())
		want, ok := ss.funcLines[m.Name]
		if !ok || filepath.Base(file) != want.File {
			continue
		}
		// A method without a stack frame (a small leaf) may have its
		// entry on its first statement's line, the one after the
		// declaration.
		if line != want.Line && line != want.Line+1 {
			return fmt.Errorf("the kernelsim source in %s is not the one this mmrace was built from (%s starts at %s:%d in the binary, %s in the source): rebuild mmrace", ss.Dir, m.Name, filepath.Base(file), line, want)
		}
	}
	return nil
}
