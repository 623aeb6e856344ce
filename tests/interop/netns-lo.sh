#!/bin/bash
# netns-lo.sh CMD [ARGS...]
#
# Runs CMD in a fresh, private network namespace whose only interface is a
# loopback with multicast switched on and routes for IPv4 (224.0.0.0/4) and
# IPv6 (ff00::/8) multicast, so that mDNS works between processes of the
# namespace and not one packet reaches a real interface. The namespace
# disappears with the last process in it. Needs root (or CAP_SYS_ADMIN);
# without it, exits 77 so that ctest reports the test as skipped.
set -eu
if [ $# -eq 0 ]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
fi
# Always a new namespace; and before touching anything, check that it is
# one: a fresh namespace has no interface but lo.
if [ "${1:-}" != --inside ]; then
    if ! unshare -n true 2>/dev/null; then
        echo "netns-lo.sh: cannot create a network namespace (need root); skipping" >&2
        exit 77
    fi
    exec unshare -n "$0" --inside "$@"
fi
shift
if ip -o link show | awk -F': ' '{ print $2 }' | grep -qvx lo; then
    echo "netns-lo.sh: this namespace has interfaces besides lo; refusing" >&2
    exit 1
fi
ip link set lo up multicast on
ip route add 224.0.0.0/4 dev lo
ip -6 route add ff00::/8 dev lo table local 2>/dev/null || ip -6 route add ff00::/8 dev lo 2>/dev/null || true
exec "$@"
