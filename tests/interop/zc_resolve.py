"""Resolve our responder's instance with python-zeroconf, the way any
DNS-SD browser would: browse _pcp._tcp.local. (PTR), then resolve the
instance (SRV, TXT, A/AAAA). Exit 0 only when the port, an address and the
TXT record are what mdns_tool announced.

usage: zc_resolve.py INSTANCE PORT ADDRESS TXT_KEY=VALUE
"""
import sys
import threading

from zeroconf import ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

SERVICE = "_pcp._tcp.local."


def main():
    inst, port, addr, kv = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    key, _, value = kv.partition("=")
    want = f"{inst}.{SERVICE}".lower()
    found = threading.Event()

    def on_change(zeroconf, service_type, name, state_change):
        if state_change is ServiceStateChange.Added and name.lower() == want:
            found.set()

    zc = Zeroconf(interfaces=["127.0.0.1"])
    try:
        ServiceBrowser(zc, SERVICE, handlers=[on_change])
        if not found.wait(10):
            print(f"browsing {SERVICE} did not find {want}")
            return 1
        info = ServiceInfo(SERVICE, f"{inst}.{SERVICE}")
        if not info.request(zc, 5000):
            print(f"could not resolve {want}")
            return 1
        print("resolved", info.server, info.port, info.parsed_addresses(), info.properties)
        if info.port != port:
            print(f"port {info.port}, want {port}")
            return 1
        if addr not in info.parsed_addresses():
            print(f"address {addr} missing")
            return 1
        if info.server.lower() != f"{inst}.local.".lower():
            print(f"server {info.server}, want {inst}.local.")
            return 1
        if info.properties.get(key.encode()) != value.encode():
            print(f"TXT {info.properties}, want {kv}")
            return 1
        return 0
    finally:
        zc.close()


sys.exit(main())
