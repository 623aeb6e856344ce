"""A minimal reverse proxy, as an operator would put in front of a relay:
serves PREFIX/... on LISTEN_PORT, strips PREFIX, forwards each request to
the relay, and after the response head keeps copying both ways (so an
Upgrade passes through). Prints its port, then serves until killed.

With TAMPER (flip, drop or inject) and OFFSET it is a hostile middlebox:
on relay pipes, the bytes from the relay to the client have, at OFFSET,
one byte flipped, 1000 bytes dropped, or 100 bytes of garbage inserted.
TAMPER hello (OFFSET ignored) follows the frames of a relay pipe both
ways and rewrites each side's hello, its first 25-byte frame (stream
header and cipher set), to offer the secretstream only (the zstd bit
kept), as a middlebox forcing the weakest cipher would; it prints
"hello DIR 0xOLD -> 0xNEW" to stderr for each. TAMPER punch, with
ADDR:PORT for OFFSET, is a relay lying in its punch answers: the "peer"
line of every POST /v1/punch answer becomes ADDR:PORT ("punch peer OLD
-> NEW" on stderr).

TAMPER late (OFFSET ignored) holds back a receiver's proof once: on the
first relay pipe whose client begins with a 36-byte frame (a receiver's
first handshake message), nothing after that frame goes up, so the
sender's handshake deadline passes as if the proof were stuck on a
lossy link. It prints "late: proof held" to stderr.

With PROXY_BIND=ADDR it listens on ADDR instead of 127.0.0.1.

With PROXY_LOG=FILE in the environment it appends every byte it carries,
both ways, to FILE: what the relay (or anyone on its path) sees.

usage: proxy.py RELAY_HOST:PORT PREFIX [TAMPER OFFSET]
"""
import os
import re
import socket
import sys
import threading

log = open(os.environ["PROXY_LOG"], "ab") if os.environ.get("PROXY_LOG") else None
log_lock = threading.Lock()

up_host, up_port = sys.argv[1].rsplit(":", 1)
prefix = sys.argv[2].encode()
tamper = sys.argv[3] if len(sys.argv) > 4 else None
offset = int(sys.argv[4]) if tamper in ("flip", "drop", "inject") else 0
fake_peer = sys.argv[4].encode() if tamper == "punch" else None


class HelloRewriter:
    """Follows u32-length frames; rewrites the set byte of the first
    25-byte one. skip_head: the stream starts with an HTTP head."""

    def __init__(self, name, skip_head):
        self.name = name
        self.head = skip_head
        self.buf = b""  # bytes of the current frame prefix or the head
        self.left = 0  # bytes of the current frame body still to pass
        self.at = -1  # offset in the body of the byte to rewrite
        self.done = False

    def feed(self, d):
        out = bytearray()
        i = 0
        while i < len(d) and not self.done:
            if self.head:
                self.buf += d[i:i + 1]
                out += d[i:i + 1]
                i += 1
                if self.buf.endswith(b"\r\n\r\n"):
                    self.head = False
                    self.buf = b""
            elif self.left == 0:
                self.buf += d[i:i + 1]
                out += d[i:i + 1]
                i += 1
                if len(self.buf) == 4:
                    self.left = int.from_bytes(self.buf, "big")
                    self.at = 24 if self.left == 25 else -1
                    self.buf = b""
            else:
                n = min(self.left, len(d) - i)
                chunk = bytearray(d[i:i + n])
                pos = 25 - self.left  # offset of chunk[0] in the body
                if self.at >= 0 and pos <= self.at < pos + n:
                    old = chunk[self.at - pos]
                    chunk[self.at - pos] = (old & 0x80) | 0x01
                    with log_lock:  # one whole line each, the two threads apart
                        sys.stderr.write("hello %s 0x%02x -> 0x%02x\n"
                                         % (self.name, old, chunk[self.at - pos]))
                        sys.stderr.flush()
                    self.done = True
                out += chunk
                i += n
                self.left -= n
        return bytes(out) + d[i:]


late_used = threading.Lock()


class LateProof:
    """Forwards a client's first frame; when that is a receiver's 36-byte
    first message (and no connection has been held before), swallows the
    rest of what the client sends."""

    def __init__(self):
        self.buf = b""
        self.decided = False
        self.hold = False

    def feed(self, d):
        if self.hold:
            return b""
        if self.decided:
            return d
        self.buf += d
        if len(self.buf) < 4:
            return b""
        n = int.from_bytes(self.buf[:4], "big")
        if len(self.buf) < 4 + n:
            return b""
        self.decided = True
        first, rest = self.buf[:4 + n], self.buf[4 + n:]
        if n == 36 and late_used.acquire(blocking=False):
            self.hold = True
            with log_lock:
                sys.stderr.write("late: proof held\n")
                sys.stderr.flush()
            return first
        return first + rest


def copy(src, dst, hostile=False, hello=None):
    seen = 0
    try:
        while True:
            d = src.recv(65536)
            if not d:
                break
            if hello:
                d = hello.feed(d)
            n = len(d)
            if hostile and seen <= offset < seen + n:
                i = offset - seen
                if tamper == "flip":
                    d = d[:i] + bytes([d[i] ^ 0x40]) + d[i + 1:]
                elif tamper == "drop":
                    d = d[:i] + d[i + 1000:]
                elif tamper == "inject":
                    d = d[:i] + bytes(range(100)) + d[i:]
            seen += n
            if log:
                with log_lock:
                    log.write(d)
                    log.flush()
            dst.sendall(d)
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def lie_about_peer(c, u):
    """The request goes up as it is; the whole answer (one per connection)
    comes back with another peer address and its Content-Length fixed."""
    threading.Thread(target=copy, args=(c, u), daemon=True).start()
    resp = b""
    while True:
        d = u.recv(65536)
        if not d:
            break
        resp += d
    head, _, body = resp.partition(b"\r\n\r\n")
    m = re.match(rb"peer ([^\n]*)\n", body)
    if m:
        body = b"peer " + fake_peer + body[m.end(1):]
        head = re.sub(rb"(?im)^content-length:[^\r\n]*", b"Content-Length: %d" % len(body), head)
        with log_lock:
            sys.stderr.write("punch peer %s -> %s\n" % (m.group(1).decode(), fake_peer.decode()))
            sys.stderr.flush()
    try:
        c.sendall(head + b"\r\n\r\n" + body)
    except OSError:
        pass
    c.close()
    u.close()


def serve(c):
    head = b""
    while b"\r\n\r\n" not in head:
        d = c.recv(4096)
        if not d:
            c.close()
            return
        head += d
    if log:
        with log_lock:
            log.write(head)
            log.flush()
    line, rest = head.split(b"\r\n", 1)
    method, path, version = line.split(b" ", 2)
    if not path.startswith(prefix + b"/"):
        c.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        c.close()
        return
    u = socket.create_connection((up_host, int(up_port)))
    u.sendall(b" ".join([method, path[len(prefix):], version]) + b"\r\n" + rest)
    if fake_peer and b"/v1/punch/" in path:
        lie_about_peer(c, u)
        return
    pipe = b"/v1/pipe/" in path
    hostile = tamper in ("flip", "drop", "inject") and pipe
    down = up = None
    if tamper == "hello" and pipe:
        down, up = HelloRewriter("to-client", True), HelloRewriter("from-client", False)
    if tamper == "late" and pipe:
        up = LateProof()
    t = threading.Thread(target=copy, args=(u, c, hostile, down), daemon=True)
    t.start()
    copy(c, u, False, up)
    t.join()
    c.close()
    u.close()


ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((os.environ.get("PROXY_BIND", "127.0.0.1"), 0))
ls.listen(64)
print(ls.getsockname()[1], flush=True)
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
