package oracle

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
)

//go:embed helper/mmhelper.c
var helperSource []byte

// ErrUnavailable wraps the reason this machine cannot run the host side:
// not Linux, no C compiler, no /proc/self/pagemap.
var ErrUnavailable = errors.New("the host kernel cannot serve as the oracle here")

var helperOnce struct {
	sync.Once
	path string
	err  error
}

// Helper returns the path of the compiled host helper, building it with cc
// on first use into the user's cache directory (named by a hash of its
// source, so that a changed helper is rebuilt). The error wraps
// ErrUnavailable when the machine cannot run it.
func Helper() (string, error) {
	helperOnce.Do(func() { helperOnce.path, helperOnce.err = buildHelper() })
	return helperOnce.path, helperOnce.err
}

func buildHelper() (string, error) {
	if runtime.GOOS != "linux" {
		return "", fmt.Errorf("%w: the host side needs Linux, this is %s", ErrUnavailable, runtime.GOOS)
	}
	for _, f := range []string{"/proc/self/pagemap", "/proc/self/maps", "/proc/self/mem"} {
		fd, err := os.Open(f)
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		fd.Close()
	}
	cc, err := exec.LookPath("cc")
	if err != nil {
		if cc, err = exec.LookPath("gcc"); err != nil {
			return "", fmt.Errorf("%w: no C compiler (cc) to build the host helper; scripts/oracle-deps.sh installs one", ErrUnavailable)
		}
	}
	sum := sha256.Sum256(helperSource)
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	dir = filepath.Join(dir, "mmrace")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	bin := filepath.Join(dir, "mmhelper-"+hex.EncodeToString(sum[:6]))
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o100 != 0 {
		return bin, nil
	}
	src, err := os.CreateTemp(dir, "mmhelper-*.c")
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer os.Remove(src.Name())
	if _, err := src.Write(helperSource); err != nil {
		src.Close()
		return "", err
	}
	src.Close()
	tmp := src.Name() + ".bin"
	defer os.Remove(tmp)
	// A static binary starts faster (no dynamic loader), which counts when
	// thousands of programs each start one; fall back to a dynamic one
	// where no static libc is installed.
	var out []byte
	for _, static := range []bool{true, false} {
		args := []string{"-O2", "-Wall", "-o", tmp, src.Name()}
		if static {
			args = append([]string{"-static"}, args...)
		}
		if out, err = exec.Command(cc, args...).CombinedOutput(); err == nil {
			break
		}
	}
	if err != nil {
		return "", fmt.Errorf("%w: building the host helper failed: %v\n%s", ErrUnavailable, err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", err
	}
	return bin, nil
}
