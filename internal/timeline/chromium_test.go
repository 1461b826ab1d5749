//go:build chromium

package timeline_test

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Run with
//
//	go test -tags chromium ./internal/timeline -v
//
// or scripts/timeline-check.sh, which also keeps the screenshot.

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const chromiumPath = "/usr/bin/chromium"

// chromium returns the browser, installing Debian's chromium package first
// when it is missing and the test runs as root.
func chromium(t *testing.T) string {
	if _, err := os.Stat(chromiumPath); err == nil {
		return chromiumPath
	}
	if os.Geteuid() != 0 {
		t.Skipf("%s is missing and the test is not root, so it cannot install it: run `apt-get install -y chromium` as root, then this test again", chromiumPath)
	}
	t.Logf("%s is missing: apt-get update && apt-get install -y chromium", chromiumPath)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", "apt-get update && apt-get install -y chromium")
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("installing chromium: %v\n%s", err, tail(out, 30))
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("apt-get installed chromium, but: %v", err)
	}
	return chromiumPath
}

// headless runs the browser once with a fresh profile and returns its
// standard output.
func headless(t *testing.T, bin string, args ...string) string {
	t.Helper()
	profile, err := os.MkdirTemp("", "mmrace-chromium-profile-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(profile)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + profile,
	}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 10 * time.Second // a helper process that keeps the pipes open
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, tail(stderr.Bytes(), 30))
	}
	return stdout.String()
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestChromium renders the timeline of move_ptes-skip-rmap-locks's
// reproducer and checks it in headless Chromium: the DOM it builds has
// every task's lane and the violation, and a screenshot is drawn.
func TestChromium(t *testing.T) {
	bin := chromium(t)
	rep := failingRun(t, reproducer, "move_ptes-skip-rmap-locks")
	dir := t.TempDir()
	page := filepath.Join(dir, "timeline.html")
	if err := os.WriteFile(page, []byte(render(t, rep, "move_ptes-skip-rmap-locks, rules off")), 0o644); err != nil {
		t.Fatal(err)
	}
	url := "file://" + page

	dom := headless(t, bin, "--dump-dom", url)
	for i := range rep.Program.Tasks {
		if id := `id="lane-t` + string(rune('1'+i)) + `"`; !strings.Contains(dom, id) {
			t.Errorf("the DOM lacks %s", id)
		}
	}
	for _, id := range []string{`id="violation"`, `id="narrative"`, `<div class="mk pte"`, `<div class="mk walk"`} {
		if !strings.Contains(dom, id) {
			t.Errorf("the DOM lacks %s", id)
		}
	}
	if len(rep.Program.Tasks) != 2 {
		t.Errorf("the reproducer has %d tasks, want 2", len(rep.Program.Tasks))
	}

	shot := filepath.Join(dir, "timeline.png")
	headless(t, bin, "--screenshot="+shot, "--window-size=1400,900", url)
	b, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	if r := img.Bounds(); r.Dx() != 1400 || r.Dy() != 900 {
		t.Errorf("the screenshot is %dx%d, want 1400x900", r.Dx(), r.Dy())
	}
	t.Logf("screenshot: %s (%d bytes)", shot, len(b))
	if keep := os.Getenv("MMRACE_TIMELINE_PNG"); keep != "" {
		if err := os.WriteFile(keep, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot copied to %s", keep)
	}
}
