#!/usr/bin/env bash
# Installs the browser tests' npm packages (playwright-core and axe-core, pinned exactly in
# package-lock.json) into CACHE_DIR/node_modules, by default ~/.cache/cairn-browser, or
# $CAIRN_BROWSER_CACHE when set. The flows load them from there (the Rust test passes the folder
# as CAIRN_BROWSER_CACHE), so the source tree never holds a node_modules folder.
#
# Nothing else is downloaded: playwright-core drives the system Chromium (the Debian package,
# /usr/bin/chromium), and PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD makes sure no browser build is
# fetched. When the lockfile's hash matches the one recorded by the last successful install,
# the script does nothing, so running it again costs a moment.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

# The system Chromium comes from Debian's packages. As root with apt-get (CI, a fresh machine),
# install it, so that the README's test command needs no set-up of its own; anyone else is told
# what to install.
chromium="${CAIRN_CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$chromium" ]]; then
  if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "tests/browser/install.sh: installing chromium and chromium-driver with apt-get" >&2
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium chromium-driver
  else
    echo "tests/browser/install.sh: $chromium is missing; install Debian's chromium and chromium-driver (sudo apt-get install chromium chromium-driver) or set CAIRN_CHROMIUM" >&2
    exit 1
  fi
fi

cache="${1:-${CAIRN_BROWSER_CACHE:-$HOME/.cache/cairn-browser}}"
mkdir -p "$cache"

want="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
stamp="$cache/installed.sha256"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -d "$cache/node_modules/playwright-core" ]]; then
  echo "tests/browser/install.sh: up to date in $cache" >&2
  exit 0
fi

echo "tests/browser/install.sh: installing into $cache" >&2
# The stamp goes first and comes back last, so a failed install is never taken for a good one.
rm -f "$stamp"
cp "$here/package.json" "$here/package-lock.json" "$cache/"
(
  cd "$cache"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund
)
echo "$want" >"$stamp"
