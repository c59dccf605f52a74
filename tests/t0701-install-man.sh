#!/bin/sh
# make install into a temporary prefix gives a working docket, its man
# pages and completion files; every command's -h matches its man page.
. "$(dirname "$0")/lib.sh"

P=$TRASH/prefix

test_expect_success 'make install PREFIX=...' '
	make -s -C "$SRC" install PREFIX="$P" BUILD="$DOCKET_BUILD" >out 2>&1 &&
	test -x "$P/bin/docket" &&
	test -x "$P/libexec/docket/docket-verify" &&
	test -f "$P/share/man/man1/docket.1" &&
	test -f "$P/share/man/man1/docket-run.1" &&
	test -f "$P/share/man/man5/docket-ledger.5" &&
	test -f "$P/share/bash-completion/completions/docket" &&
	test -f "$P/share/zsh/site-functions/_docket" &&
	test -f "$P/share/fish/vendor_completions.d/docket.fish"
'

test_expect_success 'the installed docket finds its commands and works' '
	unset DOCKET_EXEC_PATH &&
	test "$("$P/bin/docket" --exec-path)" = "$(cd "$P/libexec/docket" && pwd -P)" &&
	make_key admin &&
	"$P/bin/docket" init --admin admin --key admin.pub L >/dev/null &&
	"$P/bin/docket" note --ledger L "installed" >/dev/null &&
	"$P/bin/docket" verify --ledger L >/dev/null
'

test_expect_success 'every command has a man page whose synopsis is its -h synopsis' '
	for c in $(docket -h | sed -n "/^commands:/,/^$/p" | awk "NR>1 && NF {print \$1}"); do
		page=$P/share/man/man1/docket-$c.1
		test -f "$page" || { echo "no page for $c"; exit 1; }
		want=$(docket $c -h | sed -n "1s/^usage: //p")
		got=$(sed -n "/^\.SH SYNOPSIS/{n;s/^\.B //;s/\\\\-/-/g;p}" "$page")
		test "$want" = "$got" || { echo "$c: -h [$want] man [$got]"; exit 1; }
	done
'

test_expect_success 'every option in -h is in the man page' '
	for c in $(docket -h | sed -n "/^commands:/,/^$/p" | awk "NR>1 && NF {print \$1}"); do
		for o in $(docket $c -h | grep -o -- "--[a-z][a-z-]*" | sort -u); do
			sed "s/\\\\-/-/g" "$P/share/man/man1/docket-$c.1" | grep -q -- "$o" ||
				{ echo "$c: $o not in the man page"; exit 1; }
		done
	done
'

if command -v man >/dev/null 2>&1; then
	test_expect_success 'man renders the pages' '
		MANPATH=$P/share/man man docket-verify 2>/dev/null | grep -q "anchor" &&
		man -l "$P/share/man/man5/docket-ledger.5" 2>/dev/null | grep -q "Docket-Seq"
	'
else
	test_skip 'no man' 'rendering man pages'
fi

test_done
