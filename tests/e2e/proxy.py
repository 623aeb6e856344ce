"""A minimal reverse proxy, as an operator would put in front of a relay:
serves PREFIX/... on LISTEN_PORT, strips PREFIX, forwards each request to
the relay, and after the response head keeps copying both ways (so an
Upgrade passes through). Prints its port, then serves until killed.

With TAMPER (flip, drop or inject) and OFFSET it is a hostile middlebox:
on relay pipes, the bytes from the relay to the client have, at OFFSET,
one byte flipped, 1000 bytes dropped, or 100 bytes of garbage inserted.

With PROXY_LOG=FILE in the environment it appends every byte it carries,
both ways, to FILE: what the relay (or anyone on its path) sees.

usage: proxy.py RELAY_HOST:PORT PREFIX [TAMPER OFFSET]
"""
import os
import socket
import sys
import threading

log = open(os.environ["PROXY_LOG"], "ab") if os.environ.get("PROXY_LOG") else None
log_lock = threading.Lock()

up_host, up_port = sys.argv[1].rsplit(":", 1)
prefix = sys.argv[2].encode()
tamper = sys.argv[3] if len(sys.argv) > 4 else None
offset = int(sys.argv[4]) if tamper else 0


def copy(src, dst, hostile=False):
    seen = 0
    try:
        while True:
            d = src.recv(65536)
            if not d:
                break
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
    hostile = tamper is not None and b"/v1/pipe/" in path
    t = threading.Thread(target=copy, args=(u, c, hostile), daemon=True)
    t.start()
    copy(c, u)
    t.join()
    c.close()
    u.close()


ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0))
ls.listen(64)
print(ls.getsockname()[1], flush=True)
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
