package oracle

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startTestHost starts a helper of two slots for a failure test.
func startTestHost(t *testing.T, timeout time.Duration) *host {
	t.Helper()
	needHost(t)
	helper, _ := Helper()
	h, err := startHost(helper, 2, 512, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestHelperRefusesBadRequests: a request the helper does not understand,
// or one outside the window, is an internal error, and close leaves no
// process behind.
func TestHelperRefusesBadRequests(t *testing.T) {
	h := startTestHost(t, 10*time.Second)
	defer h.close()
	for _, req := range []string{"frobnicate 1", "mmap 1 2", "munmap 510 4", "fork 0", "store 600 1", ""} {
		_, err := h.call(0, req)
		if err == nil || !strings.HasPrefix(err.Error(), InternalPrefix) {
			t.Errorf("%q: got %v, want an internal error", req, err)
		}
	}
	// The helper still serves after refusing.
	if rep, err := h.call(0, "munmap 0 1"); err != nil || rep != "ok" {
		t.Errorf("after the refusals: %q, %v", rep, err)
	}
}

// TestHelperHangs: a helper that stops answering is killed by the watchdog
// when the program's timeout passes; the controller reports it as an
// internal error and reaps every process.
func TestHelperHangs(t *testing.T) {
	h := startTestHost(t, 300*time.Millisecond)
	defer h.close()
	rep, err := h.call(0, "fork 1")
	if err != nil {
		t.Fatal(err)
	}
	syscall.Kill(h.pgid, syscall.SIGSTOP)
	_, err = h.call(0, "snap")
	if err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("a stopped helper: got %v (after %q), want a timeout", err, rep)
	}
}

// TestHelperDies: a helper process that dies under the controller is
// reported, and the others are still reaped.
func TestHelperDies(t *testing.T) {
	h := startTestHost(t, 300*time.Millisecond)
	defer h.close()
	var pid int
	rep, err := h.call(0, "fork 1")
	if err == nil {
		_, err = fmt.Sscanf(rep, "ok %d", &pid)
	}
	if err != nil {
		t.Fatal(err)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	if _, err := h.call(1, "snap"); err == nil || !strings.HasPrefix(err.Error(), InternalPrefix) {
		t.Fatalf("a dead helper: got %v, want an internal error", err)
	}
	if _, err := h.call(0, "snap"); err == nil {
		t.Fatal("the watchdog killed every helper, yet slot 0 answered")
	}
}

// TestHelperExit: the exit request ends the process (its mm is gone); the
// controller reaps it with the others.
func TestHelperExit(t *testing.T) {
	h := startTestHost(t, 10*time.Second)
	defer h.close()
	if _, err := h.call(0, "fork 1"); err != nil {
		t.Fatal(err)
	}
	if rep, err := h.call(1, "exit"); err != nil || rep != "ok" {
		t.Fatalf("exit: %q, %v", rep, err)
	}
	if rep, err := h.call(0, "snap"); err != nil || !strings.HasPrefix(rep, "ok") {
		t.Fatalf("the parent after its child's exit: %q, %v", rep, err)
	}
}
