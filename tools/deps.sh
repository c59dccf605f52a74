#!/bin/sh
# Install the Debian packages docket needs to build and test, when missing.
# Usage: tools/deps.sh [--check] [--fuzz]
# With --check, only report what is missing (exit 1 if anything is);
# with --fuzz, also what `make fuzz` needs (clang and libFuzzer).
set -u
PKGS="gcc make pkg-config git python3 openssh-client strace
libgit2-dev libyaml-dev libcurl4-openssl-dev libjansson-dev libjq-dev
libonig-dev libssl-dev libcmocka-dev libsqlite3-dev sqlite3 zlib1g-dev
zsh fish man-db jq curl openssl graphviz binutils"

check=0
for a in "$@"; do
	case "$a" in
	--check) check=1 ;;
	--fuzz) PKGS="$PKGS clang libclang-rt-14-dev" ;;
	--valgrind) PKGS="$PKGS valgrind" ;;
	esac
done

missing=""
if command -v dpkg-query >/dev/null 2>&1; then
	for p in $PKGS; do
		st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
		case "$st" in
		*"install ok installed"*) ;;
		*) missing="$missing $p" ;;
		esac
	done
else
	echo "docket: deps: not a Debian system; install the equivalents of:" >&2
	echo "  $PKGS" | tr '\n' ' ' >&2
	echo >&2
	exit 0
fi

[ -z "$missing" ] && exit 0
if [ "$check" = 1 ]; then
	echo "missing:$missing"
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "docket: deps: missing packages:$missing" >&2
	echo "docket: deps: run as root, or: sudo apt-get install$missing" >&2
	exit 1
fi
echo "docket: deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2 || exit 1
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2 || exit 1
