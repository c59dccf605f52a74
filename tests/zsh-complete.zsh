# Type a partial docket command in a real interactive zsh (via zpty),
# press TAB twice, print what the terminal shows.
# usage: zsh -f zsh-complete.zsh FPATHDIR "partial command"
zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z "fpath=($1 \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z "zstyle ':completion:*' list-prompt ''; zstyle ':completion:*' menu no; PROMPT='%% '; unsetopt zle_bracketed_paste"
zpty -w z "print -- READY"
zpty -r z line '*READY*'
zpty -r z line '*READY*'
zpty -w -n z "$2"$'\t\t'
sleep 2
local out=''
while zpty -r -t z chunk; do out+=$chunk; done
print -r -- "$out"
zpty -d z
