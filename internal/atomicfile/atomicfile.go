// Package atomicfile writes a file so that readers see either the whole new
// file or the old one (or none), never a part: the data goes to a temporary
// file in the destination's directory, which Commit renames into place.
//
//	f, err := atomicfile.Create(path)
//	if err != nil { ... }
//	defer f.Abort()
//	... write to f ...
//	return f.Commit()
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// File is a file being written atomically. It is an io.Writer.
type File struct {
	tmp  *os.File
	dest string
	done bool
}

// Create starts writing dest. It refuses a dest that exists and is not a
// regular file (a directory, a device), so that Commit cannot replace one.
func Create(dest string) (*File, error) {
	if fi, err := os.Stat(dest); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", dest)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".*.tmp")
	if err != nil {
		return nil, err
	}
	return &File{tmp: tmp, dest: dest}, nil
}

// Write writes p to the temporary file.
func (f *File) Write(p []byte) (int, error) { return f.tmp.Write(p) }

// Commit makes the file readable by all (mode 0644), flushes it to disk and
// renames it to the destination. After a failed Commit, Abort removes the
// temporary file.
func (f *File) Commit() error {
	if err := f.tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := f.tmp.Sync(); err != nil {
		return err
	}
	if err := f.tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.tmp.Name(), f.dest); err != nil {
		return err
	}
	f.done = true
	return nil
}

// Abort removes the temporary file unless Commit renamed it into place; the
// destination is left as it was. It is safe to defer after Create.
func (f *File) Abort() {
	if !f.done {
		f.tmp.Close()
		os.Remove(f.tmp.Name())
		f.done = true
	}
}

// WriteFile writes data to dest atomically, as os.WriteFile does with mode
// 0644 but never leaving a partial file behind.
func WriteFile(dest string, data []byte) error {
	f, err := Create(dest)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Commit()
}
