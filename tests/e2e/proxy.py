"""A minimal reverse proxy, as an operator would put in front of a relay:
serves PREFIX/... on LISTEN_PORT, strips PREFIX, forwards each request to
the relay, and after the response head keeps copying both ways (so an
Upgrade passes through). Prints its port, then serves until killed.

usage: proxy.py RELAY_HOST:PORT PREFIX
"""
import socket
import sys
import threading

up_host, up_port = sys.argv[1].rsplit(":", 1)
prefix = sys.argv[2].encode()


def copy(src, dst):
    try:
        while True:
            d = src.recv(65536)
            if not d:
                break
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
    line, rest = head.split(b"\r\n", 1)
    method, path, version = line.split(b" ", 2)
    if not path.startswith(prefix + b"/"):
        c.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        c.close()
        return
    u = socket.create_connection((up_host, int(up_port)))
    u.sendall(b" ".join([method, path[len(prefix):], version]) + b"\r\n" + rest)
    t = threading.Thread(target=copy, args=(u, c), daemon=True)
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
