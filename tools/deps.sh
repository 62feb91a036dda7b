#!/usr/bin/env bash
# Install the Debian 12 packages schoolsync builds and tests with, if missing.
# Usage: tools/deps.sh [build|test|fuzz]   (test adds the tools the test suite uses,
# fuzz clang and its libFuzzer runtime for tools/fuzz.sh)
set -euo pipefail
want=(build-essential cmake pkg-config git libgit2-dev libsqlite3-dev libsodium-dev
      libuv1-dev libjansson-dev libcsv-dev libcmocka-dev libjemalloc-dev sqlite3 gettext
      libmicrohttpd-dev)
if [ "${1:-build}" = test ]; then
	# t_power_cut: loop devices, ext4, and a FUSE-served disk (pcdisk, libfuse3)
	want+=(python3 iproute2 nftables iptables procps psmisc chromium
	       e2fsprogs util-linux mount fuse3 libfuse3-dev)
	# t_web_browser: Chromium driven by puppeteer-core (npm, below) under
	# node; a Chinese font so the screenshots show the pages as clerks see
	# them. Node from elsewhere (its npm included) is kept.
	want+=(fonts-wqy-microhei)
	# check_dist: the generated man pages formatted with warnings on
	want+=(man-db)
	command -v node >/dev/null || want+=(nodejs)
	command -v npm >/dev/null || want+=(npm)
fi
if [ "${1:-build}" = fuzz ]; then
	want+=(clang libclang-rt-14-dev)
fi
missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "missing packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
		exit 1
	fi
	echo "installing: ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The browser tests' npm packages (tests/browser/package-lock.json, from the
# npm registry only; puppeteer-core downloads no browser). Offline, the test
# reports itself skipped and says why.
if [ "${1:-build}" = test ]; then
	b=$(cd "$(dirname "$0")/.." && pwd)/tests/browser
	if [ ! -f "$b/node_modules/.package-lock.json" ] || [ "$b/package-lock.json" -nt "$b/node_modules/.package-lock.json" ]; then
		echo "npm ci in $b" >&2
		(cd "$b" && npm ci --no-audit --no-fund --loglevel=error) ||
			echo "deps.sh: npm ci in $b failed: the browser test (t_web_browser) will be skipped" >&2
	fi
fi
