"""Watch a responder whose clock is about to cross a five-minute boundary:
python-zeroconf must see the old bucket's instance, then the new bucket's
instance announced, and must still resolve the old one afterwards (the
overlap that receivers one bucket behind rely on).

usage: zc_roll.py OLD_INSTANCE NEW_INSTANCE PORT
"""
import sys
import threading

from zeroconf import ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

SERVICE = "_pcp._tcp.local."
old, new, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen = {f"{old}.{SERVICE}".lower(): threading.Event(), f"{new}.{SERVICE}".lower(): threading.Event()}


def on_change(zeroconf, service_type, name, state_change):
    ev = seen.get(name.lower())
    if ev and state_change is ServiceStateChange.Added:
        ev.set()


zc = Zeroconf(interfaces=["127.0.0.1"])
try:
    ServiceBrowser(zc, SERVICE, handlers=[on_change])
    for inst in (old, new):
        if not seen[f"{inst}.{SERVICE}".lower()].wait(10):
            print(f"{inst} never appeared")
            sys.exit(1)
        print("appeared", inst, flush=True)
finally:
    zc.close()

# a fresh instance, with an empty cache: the answers must come from the
# responder now
zc = Zeroconf(interfaces=["127.0.0.1"])
try:
    for inst in (old, new):
        info = ServiceInfo(SERVICE, f"{inst}.{SERVICE}")
        if not info.request(zc, 3000) or info.port != port:
            print(f"{inst} does not resolve after the roll")
            sys.exit(1)
        print("resolved", inst, flush=True)
finally:
    zc.close()
