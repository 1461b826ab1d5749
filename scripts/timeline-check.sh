#!/usr/bin/env bash
# Renders a variant's reproducer as an HTML timeline and checks it in headless
# Chromium: every task's lane and the violation in the DOM, and a screenshot.
# The test installs Debian's chromium package when it is missing and it runs
# as root (else it skips). The screenshot is kept at $MMRACE_TIMELINE_PNG
# (default /tmp/timeline.png).
set -euo pipefail
cd "$(dirname "$0")/.."
export MMRACE_TIMELINE_PNG=${MMRACE_TIMELINE_PNG:-/tmp/timeline.png}
exec go test -tags chromium ./internal/timeline -v -count=1 -timeout 30m "$@"
