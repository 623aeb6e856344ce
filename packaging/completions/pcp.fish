# fish completion for pcp(1): subcommands, options, files, and the words of
# a code (from `pcp complete-code`). Installed as NAME.fish, it completes
# the command NAME (pcp, or pcp-transfer from Debian's package).
set -l pcp (path change-extension '' (path basename (status filename)))
function __pcp_code
    set -l cmd (commandline -opc)[1]
    command $cmd complete-code (commandline -ct) 2>/dev/null
end
complete -c $pcp -f
complete -c $pcp -n __fish_use_subcommand -a send -d 'Send files, a message or stdin'
complete -c $pcp -n __fish_use_subcommand -a receive -d 'Receive with the code'
complete -c $pcp -n __fish_use_subcommand -a relay -d 'Run a relay'
complete -c $pcp -n __fish_use_subcommand -l version -d 'Version and features'
complete -c $pcp -n __fish_use_subcommand -s h -l help -d 'Help'

# Shared by send and receive.
for c in send receive
    set -l on "__fish_seen_subcommand_from $c"
    complete -c $pcp -n $on -l json -d 'One JSON event per line'
    complete -c $pcp -n $on -l json-fd -x -d 'JSON events on this file descriptor'
    complete -c $pcp -n $on -l mdns-interface -x -a '(path basename /sys/class/net/*)' -d 'mDNS on this interface only'
    complete -c $pcp -n $on -l timeout -x -d 'Seconds to wait'
    complete -c $pcp -n $on -l stall-timeout -x -d 'Give up when nothing moves this long'
    complete -c $pcp -n $on -l threads -x -a '1 2 3 4 5 6 7 8' -d 'Compression threads'
    complete -c $pcp -n $on -l relay -x -d 'Also use this relay'
    complete -c $pcp -n $on -l relay-token -x -d 'The relay token'
    complete -c $pcp -n $on -l no-relay -d 'Never use a relay'
    complete -c $pcp -n $on -l force-relay -d 'Only the relay'
    complete -c $pcp -n $on -l dht-bootstrap -x -d 'The DHT node to join'
    complete -c $pcp -n $on -l no-dht -d 'Do not use the public DHT'
    complete -c $pcp -n $on -s h -l help -d 'Help'
end

set -l send '__fish_seen_subcommand_from send'
complete -c $pcp -n $send -F
complete -c $pcp -n $send -s w -l words -x -a '4 5 6 7 8' -d 'Words in the code'
complete -c $pcp -n $send -l code -x -a '(__pcp_code)' -d 'Use this code'
complete -c $pcp -n $send -l port -x -d 'Listen on this TCP port'
complete -c $pcp -n $send -l no-compress -d 'Never compress'
complete -c $pcp -n $send -l compress -d 'Always try to compress'
complete -c $pcp -n $send -l text -x -d 'Send this message'
complete -c $pcp -n $send -l name -x -d 'Name of the data from stdin'
complete -c $pcp -n $send -l qr -d 'Show the receive command as a QR code'

set -l recv '__fish_seen_subcommand_from receive'
complete -c $pcp -n $recv -a '(__pcp_code)'
complete -c $pcp -n $recv -s o -l out -x -a '(__fish_complete_directories)' -d 'Write into this directory'
complete -c $pcp -n $recv -s y -l yes -d 'Accept without asking'
complete -c $pcp -n $recv -l stdout -d 'Write the one file to standard output'
complete -c $pcp -n $recv -l overwrite -d 'Replace existing files'
complete -c $pcp -n $recv -l merge -d 'With --yes, also add to existing directories and hidden names'

set -l relay '__fish_seen_subcommand_from relay'
complete -c $pcp -n $relay -l listen -x -d 'Where to listen, [ADDR:]PORT'
complete -c $pcp -n $relay -l token -x -d 'Private relay token'
complete -c $pcp -n $relay -l token-file -r -F -d 'Read the token from a file'
complete -c $pcp -n $relay -l config -r -F -d 'Settings file'
complete -c $pcp -n $relay -l drain -x -d 'Seconds for open pipes on SIGTERM'
for o in max-rooms max-records max-conns per-ip-conns per-ip-rooms ipv6-prefix arrival-timeout idle-timeout request-timeout room-bytes room-rate conn-memory
    complete -c $pcp -n $relay -l $o -x
end
complete -c $pcp -n $relay -s h -l help -d 'Help'
