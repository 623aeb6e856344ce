"""Register a _pcp._tcp.local. service with python-zeroconf under a given
instance name, for our querier to find; unregister after SECONDS.

usage: zc_register.py INSTANCE PORT SECONDS TXT_KEY=VALUE
"""
import socket
import sys
import time

from zeroconf import ServiceInfo, Zeroconf

inst, port, secs, kv = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
key, _, value = kv.partition("=")
zc = Zeroconf(interfaces=["127.0.0.1"])
info = ServiceInfo(
    "_pcp._tcp.local.",
    f"{inst}._pcp._tcp.local.",
    port=port,
    addresses=[socket.inet_aton("127.0.0.1")],
    server=f"{inst}.local.",
    properties={key: value},
)
zc.register_service(info)  # probes first, so this takes about 2 s
print("registered", flush=True)
time.sleep(secs)
zc.unregister_service(info)
zc.close()
