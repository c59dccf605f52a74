# bash completion for docket. Candidates come from the binary itself
# (`docket __complete`), so this script never parses the ledger.
# Install: source it, or copy it to /usr/share/bash-completion/completions/docket
_docket() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	local IFS=$'\n'
	local out
	out=$(docket __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
	case "$out" in
	":files yaml"*)
		COMPREPLY=($(compgen -f -X '!*.@(yaml|yml)' -- "$cur") $(compgen -d -- "$cur"))
		compopt -o filenames 2>/dev/null
		;;
	":files"*)
		COMPREPLY=($(compgen -f -- "$cur"))
		compopt -o filenames 2>/dev/null
		;;
	":dirs"*)
		COMPREPLY=($(compgen -d -- "$cur"))
		compopt -o filenames 2>/dev/null
		;;
	*)
		COMPREPLY=($(compgen -W "$out" -- "$cur"))
		;;
	esac
}
shopt -s extglob 2>/dev/null
complete -F _docket docket
