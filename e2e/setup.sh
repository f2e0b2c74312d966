#!/usr/bin/env bash
# e2e/setup.sh makes the browser tests runnable. It is idempotent and prints
# nothing when everything is already in place.
#
#   1. A Chromium-based browser: $CHROME if set, else chromium,
#      chromium-browser, google-chrome or google-chrome-stable on PATH. If
#      there is none, it installs Debian's chromium with apt-get (as root, as
#      in CI) and fails loudly if that fails. It never skips.
#   2. wasmbrowsertest, which runs GOOS=js GOARCH=wasm test binaries in
#      headless Chromium, installed into <repo>/bin (git-ignored).
#   3. <repo>/bin/go_js_wasm_exec, a wrapper around wasmbrowsertest, so that
#      the go command finds it by name when <repo>/bin is on PATH.
#
# Then:
#
#   GOOS=js GOARCH=wasm go test -exec "$PWD/bin/wasmbrowsertest" ./platform/wasm/
#   PATH="$PWD/bin:$PATH" GOOS=js GOARCH=wasm go test ./platform/wasm/   # same, via the wrapper
#   go test -race ./e2e/
set -euo pipefail

WASMBROWSERTEST=github.com/agnivade/wasmbrowsertest
WASMBROWSERTEST_VERSION=v0.11.0

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="$repo/bin"

say() { echo "e2e/setup.sh: $*" >&2; }
die() {
	say "ERROR: $*"
	exit 1
}

# find_browser prints the path of the first browser on PATH, or fails.
find_browser() {
	local name
	for name in chromium chromium-browser google-chrome google-chrome-stable; do
		if command -v "$name"; then
			return 0
		fi
	done
	return 1
}

# 1. The browser.
if [ -n "${CHROME:-}" ]; then
	browser=$(command -v "$CHROME") || die "CHROME=$CHROME is not an executable"
elif ! browser=$(find_browser); then
	say "no Chromium-based browser on PATH; installing Debian's chromium with apt-get"
	[ "$(id -u)" -eq 0 ] || die "not root: install chromium (apt-get install chromium) or Chrome, or set CHROME to its path"
	command -v apt-get >/dev/null || die "no apt-get: install Chromium or Chrome, or set CHROME to its path"
	log=$(mktemp)
	export DEBIAN_FRONTEND=noninteractive
	# DPkg::Lock::Timeout waits for another apt run instead of failing.
	if ! { apt-get -o DPkg::Lock::Timeout=600 update &&
		apt-get -o DPkg::Lock::Timeout=600 install -y chromium; } >"$log" 2>&1; then
		tail -n 30 "$log" >&2
		die "apt-get install chromium failed (full log: $log)"
	fi
	rm -f "$log"
	browser=$(find_browser) || die "apt-get installed chromium, but no browser is on PATH"
	say "installed $browser"
fi
"$browser" --version >/dev/null 2>&1 || die "$browser does not run ($browser --version failed)"

# 2. wasmbrowsertest, at the pinned version.
if ! go version -m "$bin/wasmbrowsertest" 2>/dev/null | grep -q "mod[[:space:]]*$WASMBROWSERTEST[[:space:]]*$WASMBROWSERTEST_VERSION"; then
	say "installing $WASMBROWSERTEST@$WASMBROWSERTEST_VERSION into $bin"
	mkdir -p "$bin"
	GOBIN="$bin" GOFLAGS= go install "$WASMBROWSERTEST@$WASMBROWSERTEST_VERSION" ||
		die "go install $WASMBROWSERTEST@$WASMBROWSERTEST_VERSION failed"
fi

# 3. The go_js_wasm_exec wrapper. wasmbrowsertest finds the browser by name
# on PATH (headless_shell first, then chromium, google-chrome, ...) and adds
# --headless, and --no-sandbox when run as root. It has no flag for the
# browser's path, so when CHROME is set the wrapper links it in front of
# PATH under the first name wasmbrowsertest tries.
wrapper=$(
	cat <<'EOF'
#!/bin/sh
# Written by e2e/setup.sh: runs a GOOS=js GOARCH=wasm binary in headless
# Chromium through wasmbrowsertest. CHROME, if set, picks the browser.
bin=$(cd "$(dirname "$0")" && pwd)
if [ -n "${CHROME:-}" ]; then
	chrome=$(command -v "$CHROME") || { echo "go_js_wasm_exec: CHROME=$CHROME is not an executable" >&2; exit 1; }
	mkdir -p "$bin/.chrome"
	ln -sf "$chrome" "$bin/.chrome/headless_shell"
	PATH="$bin/.chrome:$PATH"
	export PATH
fi
exec "$bin/wasmbrowsertest" "$@"
EOF
)
if [ "$(cat "$bin/go_js_wasm_exec" 2>/dev/null)" != "$wrapper" ]; then
	printf '%s\n' "$wrapper" >"$bin/go_js_wasm_exec"
	chmod +x "$bin/go_js_wasm_exec"
fi
