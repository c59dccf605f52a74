#!/bin/sh
# Shell completion in real bash, zsh and fish: a partial command is typed
# and the candidates offered are checked. Candidates come from
# `docket __complete` (static, from the command table) and docket-complete
# (values from the ledger).
. "$(dirname "$0")/lib.sh"

C=$SRC/completions

bash_complete() {
	# bash_complete WORD... : the words of the line, the last one partial
	bash -c '. "$1/docket.bash"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _docket; printf "%s\n" "${COMPREPLY[@]}"' _ "$C" "$@"
}

fish_complete() {
	fish -c "source $C/docket.fish; complete -C'$1'" | cut -f1
}

zsh_complete() {
	timeout 30 zsh -f "$SRC/tests/zsh-complete.zsh" "$C" "$1" | tr '\r' '\n' |
		sed 's/\x1b\[[0-9;]*[A-Za-z]//g; s/\x07//g'
}

test_expect_success 'setup: a ledger with notes' '
	make_ledger L &&
	DOCKET_LEDGER=$TRASH/L docket note "first" >/dev/null
'
export DOCKET_LEDGER=$TRASH/L

test_expect_success '__complete: commands, options and file directives' '
	docket __complete ver >out && test "$(cat out)" = verify &&
	docket __complete log --t >out && test "$(cat out)" = --type &&
	docket __complete run "" >out && test "$(cat out)" = ":files yaml" &&
	docket __complete init --key "" >out && test "$(cat out)" = ":files" &&
	docket __complete help ver >out && test "$(cat out)" = verify
'

test_expect_success '__complete: hidden commands are not offered' '
	docket __complete "" >out &&
	grep -qx init out && grep -qx explain out &&
	! grep -qx complete out
'

test_expect_success '__complete: record types come from the ledger' '
	docket __complete log --type "" >out &&
	grep -qx note out && grep -qx genesis out &&
	docket __complete log --ledger "$TRASH/L" --type no >out &&
	test "$(cat out)" = note
'

if command -v bash >/dev/null; then
	test_expect_success 'bash: commands' '
		bash_complete docket ver >out && test "$(cat out)" = verify
	'
	test_expect_success 'bash: options of a command' '
		bash_complete docket verify --a >out && test "$(cat out)" = --anchor
	'
	test_expect_success 'bash: workflow files for docket run' '
		mkdir -p wf && : >wf/a.yaml && : >wf/b.txt &&
		bash_complete docket run wf/ >out &&
		grep -qx wf/a.yaml out && ! grep -q b.txt out
	'
	test_expect_success 'bash: record types from the ledger' '
		bash_complete docket log --type no >out && test "$(cat out)" = note
	'
else
	test_skip 'no bash' 'bash completion'
fi

if command -v fish >/dev/null; then
	test_expect_success 'fish: commands' '
		fish_complete "docket ver" >out && grep -qx verify out
	'
	test_expect_success 'fish: options' '
		fish_complete "docket log --t" >out && grep -qx -- --type out
	'
	test_expect_success 'fish: record types from the ledger' '
		fish_complete "docket log --type no" >out && grep -qx note out
	'
else
	test_skip 'no fish' 'fish completion'
fi

if command -v zsh >/dev/null; then
	test_expect_success 'zsh: a unique command is completed in place' '
		zsh_complete "docket verif" >out &&
		grep -q "docket verify" out
	'
	test_expect_success 'zsh: options are listed' '
		zsh_complete "docket verify --" >out &&
		grep -q -- "--anchor" out && grep -q -- "--ledger" out
	'
	test_expect_success 'zsh: record types from the ledger' '
		zsh_complete "docket log --type " >out &&
		grep -q "genesis" out && grep -q "note" out
	'
else
	test_skip 'no zsh' 'zsh completion'
fi

test_done
