# bash completion for vrrpd: commands, each command's flags, configuration files, and
# the instance names of the running daemon for show and events.

# _vrrpd_instances prints the names of the running daemon's instances: the keys "name"
# at the instances' depth in `vrrpd show --json`. It prints nothing, at once, when the
# daemon does not answer.
_vrrpd_instances() {
    local -a args=()
    local i
    for ((i = 2; i < ${#COMP_WORDS[@]} - 1; i++)); do
        case ${COMP_WORDS[i]} in
        -config | --config | -socket | --socket) args+=("${COMP_WORDS[i]}" "${COMP_WORDS[i + 1]}") ;;
        esac
    done
    timeout 2 vrrpd show --json "${args[@]}" 2>/dev/null |
        sed -n 's/^      "name": "\([^"]*\)",$/\1/p'
}

_vrrpd() {
    local cur prev cmd
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    local commands="run check show events convert cleanup version help"

    if ((COMP_CWORD == 1)); then
        COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
        return
    fi
    cmd=${COMP_WORDS[1]}

    case $prev in
    -config | --config)
        if [[ $cmd == convert ]]; then
            return
        fi
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -f -X '!*.@(yaml|yml|example)' -- "$cur") $(compgen -d -- "$cur"))
        return
        ;;
    -socket | --socket)
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -f -- "$cur"))
        return
        ;;
    -log-level | --log-level)
        COMPREPLY=($(compgen -W "debug info warn error" -- "$cur"))
        return
        ;;
    -log-format | --log-format)
        COMPREPLY=($(compgen -W "text json" -- "$cur"))
        return
        ;;
    -config-id | --config-id)
        return
        ;;
    esac

    local flags=""
    case $cmd in
    run) flags="--config --log-level --log-format" ;;
    check) flags="--offline --config" ;;
    show) flags="--config --socket --json --watch" ;;
    events) flags="--config --socket" ;;
    convert) flags="--config-id" ;;
    cleanup) flags="--config" ;;
    help)
        if ((COMP_CWORD == 2)); then
            COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        fi
        return
        ;;
    esac
    flags="$flags --help"

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$flags" -- "$cur"))
        return
    fi
    case $cmd in
    check)
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -f -X '!*.@(yaml|yml|example)' -- "$cur") $(compgen -d -- "$cur"))
        ;;
    convert)
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -f -- "$cur"))
        ;;
    show | events)
        COMPREPLY=($(compgen -W "$(_vrrpd_instances)" -- "$cur"))
        ;;
    esac
}

complete -F _vrrpd vrrpd
