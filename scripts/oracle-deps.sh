#!/usr/bin/env bash
# Installs what the oracle's host side (package oracle, `mmrace diff`) needs
# where it is missing: a C compiler and the C library headers, from Debian's
# packages. A no-op where cc exists. .ci/run calls it before the tests.
set -euo pipefail
if command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1; then
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "oracle-deps: no C compiler and no apt-get; install one (gcc or clang) to run the oracle" >&2
	exit 1
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
	sudo=sudo
fi
$sudo apt-get update -qq
$sudo apt-get install -y -qq gcc libc6-dev
