#!/usr/bin/env bash
# Install what the tests' independent checkers and servers need, and build
# libical_check. The tests run it themselves on first use.
#
#   bash tests/ical/setup.sh        (from anywhere; as root on Debian 12)
#
# Python packages go into a virtual environment of the project's own,
# target/test-venv, never into the machine's Python; ical.js into target/test-node. Idempotent and quick when
# everything is there: it installs Debian packages only if missing (apt-get
# update first, once), pip packages only if the pins in requirements.txt are
# not already satisfied in the venv, and recompiles target/ical/libical_check
# only when the source is newer than the binary. Progress goes to stderr;
# stdout stays empty.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out_dir="$repo/target/ical"
bin="$out_dir/libical_check"
src="$here/libical_check.c"
req="$here/requirements.txt"

venv="$repo/target/test-venv"
say() { printf 'ical-setup: %s\n' "$*" >&2; }

# One setup at a time (tests in several processes may ask at once).
mkdir -p "$repo/target"
exec 9>"$repo/target/test-setup.lock"
flock 9

# --- Debian packages --------------------------------------------------------
need_pkgs=()
command -v cc >/dev/null 2>&1 || need_pkgs+=(gcc libc6-dev)
# dovecot-imapd and openssl: the IMAP tests start a Dovecot of their own (never the
# system service) and make it a certificate. chromium: the coordinator's page is
# looked at in a real browser (headless screenshots, tests/page.rs).
for pkg in libical-dev pkg-config python3 python3-venv dovecot-imapd openssl chromium; do
    if [ "$pkg" = python3-venv ]; then
        # Any Python that can make a venv with pip will do (e.g. a pyenv Python).
        python3 -c "import venv, ensurepip" >/dev/null 2>&1 && continue
    fi
    if [ "$pkg" = python3 ]; then
        command -v python3 >/dev/null 2>&1 && continue
    fi
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
        || need_pkgs+=("$pkg")
done
if [ "${#need_pkgs[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        say "missing Debian packages: ${need_pkgs[*]} (run as root to install them)"
        exit 1
    fi
    say "apt-get update"
    apt-get update -q >&2
    say "apt-get install -y ${need_pkgs[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need_pkgs[@]}" >&2
else
    say "Debian packages present (libical-dev, pkg-config, cc, python3 with venv, dovecot-imapd, openssl, chromium)"
fi

# --- Python packages, in the project's venv ----------------------------------
if [ ! -x "$venv/bin/python3" ]; then
    say "python3 -m venv $venv"
    python3 -m venv "$venv" >&2
fi
if "$venv/bin/python3" - "$req" <<'PY'
import sys, importlib.metadata as md
bad = []
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    name, _, want = line.partition("==")
    try:
        have = md.version(name)
    except md.PackageNotFoundError:
        have = None
    if have != want:
        bad.append(f"{name} {have or 'missing'} (want {want})")
if bad:
    print("ical-setup: python packages to install: " + ", ".join(bad), file=sys.stderr)
    sys.exit(1)
PY
then
    say "python packages match $req"
else
    say "$venv/bin/python3 -m pip install -r $req"
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
        "$venv/bin/python3" -m pip install -q -r "$req" >&2
fi

# --- ical.js, in the project's node folder -----------------------------------
# The second independent parser of calendar feeds (tests/ical/icaljs_check.mjs),
# installed into target/test-node, never globally. Needs node and npm (Debian's
# nodejs and npm packages).
node_dir="$repo/target/test-node"
icaljs_version="2.2.1"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    say "node and npm are needed for ical.js (apt-get install nodejs npm)"
    exit 1
fi
have_icaljs="$(node -p "require('$node_dir/node_modules/ical.js/package.json').version" 2>/dev/null || true)"
if [ "$have_icaljs" = "$icaljs_version" ]; then
    say "ical.js $icaljs_version present in $node_dir"
else
    say "npm install --prefix $node_dir ical.js@$icaljs_version"
    mkdir -p "$node_dir"
    npm install --prefix "$node_dir" --no-audit --no-fund --silent "ical.js@$icaljs_version" >&2
fi

# --- libical_check ----------------------------------------------------------
mkdir -p "$out_dir"
if [ -x "$bin" ] && [ "$bin" -nt "$src" ] && [ "$bin" -nt "$here/setup.sh" ]; then
    say "$bin is up to date"
else
    say "cc -O2 -o $bin libical_check.c \$(pkg-config --cflags --libs libical)"
    # shellcheck disable=SC2046
    cc -O2 -Wall -Wextra -Werror -o "$bin.tmp" "$src" $(pkg-config --cflags --libs libical)
    mv -f "$bin.tmp" "$bin"
fi
say "ready: $bin FILE.ics ; $venv/bin/python3 $here/check.py FILE.ics --from ... --until ... ; node $here/icaljs_check.mjs FILE.ics FROM UNTIL"
