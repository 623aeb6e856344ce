"""Wait for a question about INSTANCE on the mDNS group, then multicast one
unsolicited announcement of it (PTR, SRV, TXT, A: 127.0.0.1:PORT) and exit,
never answering a question: a querier finds the instance only if it
listens to announcements, as a sender that starts after the receiver
makes them. Plain sockets (no zeroconf), run inside netns-lo.sh.

usage: announce_once.py INSTANCE PORT
"""
import socket
import struct
import sys

inst, port = sys.argv[1], int(sys.argv[2])
GROUP = "224.0.0.251"


def name(*labels):
    return b"".join(bytes([len(x)]) + x.encode() for x in labels) + b"\0"


def rr(owner, rtype, data, cache_flush=True):
    klass = 0x8001 if cache_flush else 1
    return owner + struct.pack(">HHIH", rtype, klass, 120, len(data)) + data


s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("", 5353))
mreq = socket.inet_aton(GROUP) + socket.inet_aton("127.0.0.1")
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
# By interface index, as our responder does: on lo in a namespace the
# packet then leaves from 0.0.0.0, which a querier must still take as local.
ifindex = socket.if_nametoindex("lo")
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
             socket.inet_aton(GROUP) + bytes(4) + struct.pack("@i", ifindex))
print("listening", flush=True)
while True:
    pkt, src = s.recvfrom(9000)
    flags = struct.unpack(">H", pkt[2:4])[0]
    if not flags & 0x8000 and inst.encode() in pkt:
        break
print("question heard from %s:%d" % src, flush=True)
svc = name("_pcp", "_tcp", "local")
full = name(inst, "_pcp", "_tcp", "local")
host = name(inst, "local")
txt = b"v=1"
answers = [
    rr(svc, 12, full, cache_flush=False),
    rr(full, 33, struct.pack(">HHH", 0, 0, port) + host),
    rr(full, 16, bytes([len(txt)]) + txt),
    rr(host, 1, socket.inet_aton("127.0.0.1")),
]
msg = struct.pack(">HHHHHH", 0, 0x8400, 0, len(answers), 0, 0) + b"".join(answers)
s.sendto(msg, (GROUP, 5353))
print("announced", flush=True)
