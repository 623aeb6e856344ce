"""pcpwire.py - the protocol facts the Python test peers share (stranger.py,
relay_abuse.py): a code's channel, the rendezvous keys a channel has now
(core/PROTOCOL.md, "Rendezvous and relay"), and reading from a socket.
Standard library only."""
import hashlib
import os
import time

BUCKET_NS = 300 * 10**9


def channel_of(code):
    """The index of the code's first word (or its 4-letter prefix)."""
    words = open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              "../../wordlist/english.txt")).read().split()
    first = code.split("-")[0]
    for i, w in enumerate(words):
        if w == first or (len(first) >= 4 and w.startswith(first[:4])):
            return i
    raise SystemExit(f"no channel word in {code!r}")


def rv_keys(channel):
    """The rendezvous keys of the current and the previous time bucket."""
    now = time.time_ns()
    bucket = now - now % BUCKET_NS
    return [hashlib.blake2b(f"/pcp/{b}/{channel}".encode(), digest_size=32,
                            person=b"pcp1-rendezvous").hexdigest()
            for b in (bucket, bucket - BUCKET_NS)]


def read_exact(s, n):
    """n bytes from s, or None when it ends first."""
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            return None
        b += c
    return b


def read_head(s):
    """An HTTP head, up to and with its empty line (less if s ends)."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        c = s.recv(1)
        if not c:
            break
        head += c
    return head
