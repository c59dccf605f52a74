# fish completion for docket. Candidates come from `docket __complete`.
# Install: copy to ~/.config/fish/completions/docket.fish
function __docket_complete
    set -l words (commandline -opc) (commandline -ct)
    set -e words[1]
    set -l out (docket __complete $words 2>/dev/null)
    switch "$out[1]"
        case ':files yaml'
            __fish_complete_suffix .yaml
            __fish_complete_suffix .yml
        case ':files'
            __fish_complete_path (commandline -ct)
        case ':dirs'
            __fish_complete_directories (commandline -ct)
        case '*'
            printf '%s\n' $out
    end
end
complete -c docket -f -a '(__docket_complete)'
