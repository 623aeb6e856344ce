# bash completion for pcp(1): subcommands, options, files, and the words
# of a code (`pcp receive bubble-ene<TAB>` -> bubble-enemy, from
# `pcp complete-code`).
_pcp() {
    local cur prev cmd
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    cmd=${COMP_WORDS[1]}
    if [ "$COMP_CWORD" -eq 1 ]; then
        mapfile -t COMPREPLY < <(compgen -W "send receive relay --help --version" -- "$cur")
        return
    fi
    case $prev in
    -o | --out)
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        return
        ;;
    --config | --token-file)
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        return
        ;;
    --mdns-interface)
        mapfile -t COMPREPLY < <(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$cur")
        return
        ;;
    -w | --words)
        mapfile -t COMPREPLY < <(compgen -W "4 5 6 7 8" -- "$cur")
        return
        ;;
    --code)
        mapfile -t COMPREPLY < <("${COMP_WORDS[0]}" complete-code "$cur" 2>/dev/null)
        return
        ;;
    --text | --name | --port | --timeout | --stall-timeout | --threads | --relay | --relay-token | \
        --dht-bootstrap | --listen | --token | --drain | --max-* | --per-ip-* | --*-timeout | \
        --room-* | --conn-memory)
        return
        ;;
    esac
    local opts
    case $cmd in
    send)
        opts="--words --code --json --json-fd --mdns-interface --port --timeout --stall-timeout
              --no-compress --compress --threads --text --name --qr --relay --relay-token
              --no-relay --force-relay --dht-bootstrap --no-dht --help"
        ;;
    receive)
        opts="--out --yes --stdout --overwrite --merge --json --json-fd --mdns-interface --timeout
              --stall-timeout --threads --relay --relay-token --no-relay --force-relay
              --dht-bootstrap --no-dht --help"
        ;;
    relay)
        opts="--listen --token --token-file --config --drain --max-rooms --max-records
              --max-conns --per-ip-conns --per-ip-rooms --ipv6-prefix --arrival-timeout --idle-timeout
              --request-timeout --room-bytes --room-rate --conn-memory --help"
        ;;
    *) return ;;
    esac
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
    elif [ "$cmd" = send ]; then
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    elif [ "$cmd" = receive ]; then
        mapfile -t COMPREPLY < <("${COMP_WORDS[0]}" complete-code "$cur" 2>/dev/null)
    fi
}
# pcp-transfer: the name Debian's package installs it under.
complete -o filenames -o bashdefault -F _pcp pcp pcp-transfer
