"""Browse _pcp._tcp.local. with python-zeroconf until INSTANCE appears,
print "added", then wait for it to be removed. Our records carry a TTL of
120 s, so a removal within the timeout can only come from the goodbye
(TTL 0) packet.

usage: zc_goodbye.py INSTANCE TIMEOUT_S
"""
import sys
import threading

from zeroconf import ServiceBrowser, ServiceStateChange, Zeroconf

inst, timeout = sys.argv[1], float(sys.argv[2])
want = f"{inst}._pcp._tcp.local.".lower()
added, removed = threading.Event(), threading.Event()


def on_change(zeroconf, service_type, name, state_change):
    if name.lower() != want:
        return
    if state_change is ServiceStateChange.Added:
        added.set()
    elif state_change is ServiceStateChange.Removed:
        removed.set()


zc = Zeroconf(interfaces=["127.0.0.1"])
try:
    ServiceBrowser(zc, "_pcp._tcp.local.", handlers=[on_change])
    if not added.wait(10):
        print("never added")
        sys.exit(1)
    print("added", flush=True)
    if not removed.wait(timeout):
        print("not removed in time")
        sys.exit(1)
    print("removed", flush=True)
finally:
    zc.close()
