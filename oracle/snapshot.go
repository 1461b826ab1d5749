package oracle

import "fmt"

// Result is what one op returned, on either side.
type Result struct {
	// Outcome is "ok", an errno name ("EINVAL", "ENOMEM", "EFAULT", ...), a
	// signal the access raised ("SIGSEGV", "SIGBUS"), "error" (a model
	// refusal naming no errno), "violation" (the model failed one of its
	// own checks), or "skipped" (the host has no counterpart of the op).
	Outcome string `json:"outcome"`
	// Value is what a load returned, when it returned.
	Value uint64 `json:"value,omitempty"`
	// Detail is the model's error text or the reason for a skip.
	Detail string `json:"detail,omitempty"`
}

// String prints the result as reports do: "ok", "ok (loaded 7)", "EINVAL".
func (r Result) String() string {
	if r.Outcome == "ok" && r.Value != 0 {
		return fmt.Sprintf("ok (loaded %d)", r.Value)
	}
	return r.Outcome
}

// VMA is one VMA of a snapshot, in window pages.
type VMA struct {
	Start  int    `json:"start"`
	End    int    `json:"end"`
	Prot   string `json:"prot"` // "none", "r", "rw" (or "w")
	Shared bool   `json:"shared,omitempty"`
	File   string `json:"file,omitempty"` // "" for anonymous memory
	// Pgoff is vm_pgoff of a file VMA. It is -1 for anonymous VMAs: the
	// kernel does not show theirs (/proc/PID/maps prints 0).
	Pgoff int `json:"pgoff"`
}

// String prints the VMA as the diagrams' legends do:
// "[0x10,0x13) rw anon", "[0x20,0x24) r file1@0x2 shared".
func (v VMA) String() string {
	s := fmt.Sprintf("[%#x,%#x) %s", v.Start, v.End, v.Prot)
	if v.File == "" {
		return s + " anon"
	}
	kind := "private"
	if v.Shared {
		kind = "shared"
	}
	return s + fmt.Sprintf(" %s@%#x %s", v.File, v.Pgoff, kind)
}

// Page is a present page and the value in its first 8 bytes.
type Page struct {
	Addr  int    `json:"addr"`
	Value uint64 `json:"value"`
	// File says the page is a page-cache page (a file page mapped as it is,
	// not a private copy): pagemap's PM_FILE bit on the host, a non-anon
	// folio in the model.
	File bool `json:"file,omitempty"`
}

// MMState is one mm (one process on the host) after an op: its VMAs in the
// window and its present pages, both in address order.
type MMState struct {
	MM    string `json:"mm"`
	Gone  bool   `json:"gone,omitempty"` // the mm exited (or never came to be)
	VMAs  []VMA  `json:"vmas"`
	Pages []Page `json:"pages"`
}

// Obs is what one side observed after an op: the op's result and every mm
// that has a host process.
type Obs struct {
	Result Result    `json:"result"`
	MMs    []MMState `json:"mms"`
	// Files is the model's page cache (the host does not report it): the
	// cached pages of every file, with their values, by file.
	Files []FileState `json:"files,omitempty"`
}

// FileState is the page cache of one file of the model: Addr is the page's
// index in the file.
type FileState struct {
	Name   string `json:"name"`
	Cached []Page `json:"cached"`
}

// cached returns the value of the cached page index of file, and whether
// the model has it in its page cache.
func (o *Obs) cached(file string, index int) (uint64, bool) {
	for _, f := range o.Files {
		if f.Name != file {
			continue
		}
		for _, p := range f.Cached {
			if p.Addr == index {
				return p.Value, true
			}
		}
	}
	return 0, false
}

// mm returns the state of the mm named name, or nil.
func (o *Obs) mm(name string) *MMState {
	for i := range o.MMs {
		if o.MMs[i].MM == name {
			return &o.MMs[i]
		}
	}
	return nil
}

// prot names a protection as the snapshot does: "none", "r", "rw", "w".
func prot(r, w bool) string {
	switch {
	case r && w:
		return "rw"
	case r:
		return "r"
	case w:
		return "w"
	}
	return "none"
}
