"""Hostile and broken clients against a running `pcp relay`.

usage: relay_abuse.py HOST:PORT RELAY_PID SCENARIO [CODE]

Each scenario prints what it saw and exits non-zero when the relay did not
behave. Most expect a relay with short limits (see t_relay_abuse.sh):
request-timeout 2, arrival-timeout 2, idle-timeout 2, per-ip-conns 20,
room-bytes 20M; drain, drain_cut and rate_cap are for t_relay_ops.sh's
relays (a token in RELAY_TOKEN, --drain 1, --room-rate 2M); prefix_squat,
two_senders and squat for a relay with the default limits listening on
every address (IPv6 too), prefix_squat with 2001:db8:bad::/64 and
2001:db8:600d::/64 local to lo (any address of them can be bound). squat
takes the code of a waiting `pcp send --relay`. Standard library only.
"""
import os
import signal
import socket
import sys
import time

import pcpwire

host, port = sys.argv[1].rsplit(":", 1)
port = int(port)
relay_pid = int(sys.argv[2])


def conn(src="127.0.0.1"):
    """From src; an IPv6 source talks to the relay at ::1."""
    v6 = ":" in src
    s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(10)
    s.connect(("::1" if v6 else host, port))
    return s


def status(head):
    parts = head.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def request(raw, src="127.0.0.1"):
    s = conn(src)
    s.sendall(raw)
    head = pcpwire.read_head(s)
    s.close()
    return status(head)


def exchange(raw, src="127.0.0.1"):
    """(status, body) of one request."""
    s = conn(src)
    s.sendall(raw)
    head = pcpwire.read_head(s)
    n = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":", 1)[1])
    body = b""
    while len(body) < n:
        c = s.recv(n - len(body))
        if not c:
            break
        body += c
    s.close()
    return status(head), body


def put(key, owner, record, src="127.0.0.1"):
    return exchange(
        f"PUT /v1/rv/{key} HTTP/1.1\r\nHost: x\r\nX-Pcp-Owner: {owner}\r\n"
        f"Content-Length: {len(record)}\r\n\r\n".encode() + record, src)[0]


def get(path, src="127.0.0.1"):
    return exchange(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode(), src)


def delete(key, owner):
    return exchange(
        f"DELETE /v1/rv/{key} HTTP/1.1\r\nHost: x\r\nX-Pcp-Owner: {owner}\r\n\r\n".encode())[0]


def record(r):
    return f"v=1\nroom={r}\n".encode()


def healthy(src="127.0.0.1"):
    return request(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", src) == 200


def room():
    return os.urandom(16).hex()


def pipe(r, extra=b"", src="127.0.0.1"):
    s = conn(src)
    token = os.environ.get("RELAY_TOKEN")
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    s.sendall(
        f"GET /v1/pipe/{r} HTTP/1.1\r\nHost: x\r\n{auth}Connection: Upgrade\r\n"
        f"Upgrade: pcp-relay/1\r\n\r\n".encode() + extra
    )
    return s, status(pcpwire.read_head(s))


def ends_within(s, seconds):
    """True when the relay closes s (EOF or reset) within seconds."""
    s.settimeout(seconds)
    try:
        while True:
            if not s.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def rss_kib():
    with open(f"/proc/{relay_pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        sys.exit(1)


def garbage():
    for raw in [
        os.urandom(300) + b"\r\n\r\n",
        b"\x00\x01\x02\r\n\r\n",
        b"GET /v1/rv/zz HTTP/1.1\r\nHost: x\r\n\r\n",
        b"BREW /v1/rv/" + b"a" * 64 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
        b"GET /v1/pipe/" + b"a" * 32 + b" HTTP/1.1\r\nHost: x\r\n\r\n",  # no Upgrade
        b"GET /v1/rv/" + b"a" * 64 + b"?wait=999 HTTP/1.1\r\nHost: x\r\n\r\n",
    ]:
        st = request(raw)
        check(st is None or 400 <= st < 600, f"garbage {raw[:24]!r}... answered {st}")
    check(healthy(), "still serving after garbage")


def oversized():
    st = request(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n")
    check(st is None or st in (413, 414, 431), f"100 kB header answered {st}")
    st = request(b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    check(st is None or st in (413, 414, 431), f"100 kB URL answered {st}")
    body = b"x" * 5000
    st = request(
        b"PUT /v1/rv/" + b"b" * 64 + b" HTTP/1.1\r\nHost: x\r\nX-Pcp-Owner: " + b"c" * 32
        + b"\r\nContent-Length: 5000\r\n\r\n" + body
    )
    check(st == 413, f"5000-byte record answered {st}")
    check(healthy(), "still serving after oversized requests")


def slowloris():
    before = rss_kib()
    socks = []
    for _ in range(15):
        s = conn()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never finished
        socks.append(s)
    # Another address is served meanwhile.
    check(healthy("127.0.0.2"), "served 127.0.0.2 while 15 slow requests hang")
    t = time.monotonic()
    closed = sum(ends_within(s, 8) for s in socks)
    check(closed == len(socks), f"relay dropped {closed}/{len(socks)} unfinished requests")
    print(f"     dropped after {time.monotonic() - t:.1f} s; RSS {before} -> {rss_kib()} KiB")
    check(healthy(), "still serving after slowloris")


def per_ip():
    socks, refused = [], 0
    for _ in range(30):
        try:
            s = conn()
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
        except OSError:
            refused += 1
    time.sleep(0.3)
    dead = 0
    for s in socks:
        s.settimeout(0.2)
        try:
            if not s.recv(1):
                dead += 1
        except socket.timeout:
            pass
        except OSError:
            dead += 1
    check(refused + dead >= 10, f"30 connections from one address: {refused + dead} refused")
    check(healthy("127.0.0.2"), "another address still served")
    for s in socks:
        s.close()


def third_peer():
    # The first two are paired and leave the room: a third waits there
    # (the sender entering again while a stranger sits on its last
    # connection), a fourth is paired with it; a room has at most four
    # pairs at once.
    r = room()
    a, sa = pipe(r)
    b, sb = pipe(r)
    check((sa, sb) == (101, 101), f"two peers in a room: {sa} {sb}")
    a.sendall(b"ping")
    b.settimeout(5)
    check(b.recv(4) == b"ping", "the first two are paired and talk")
    c, sc = pipe(r)
    check(sc == 101, f"a third waits in the room the pair left: {sc}")
    d, sd = pipe(r)
    check(sd == 101, f"a fourth is paired with the third: {sd}")
    c.sendall(b"pong")
    d.settimeout(5)
    check(d.recv(4) == b"pong", "the second pair talks")
    more = []
    for _ in range(2):
        time.sleep(0.1)  # both attached: a pairing half-way is busy too
        more += [pipe(r)[0], pipe(r)[0]]
    time.sleep(0.1)
    e, se = pipe(r)
    check(se == 409, f"a fifth pair in one room: {se}")
    for s in [a, b, c, d, e] + more:
        s.close()


def early_speaker():
    s, st = pipe(room(), extra=b"too early")
    check(st == 101 and ends_within(s, 5), "a client that spoke before the 101 is closed")


def no_peer():
    s, st = pipe(room())
    check(st == 101, "lone peer admitted")
    t = time.monotonic()
    check(ends_within(s, 10), "a peer nobody joins is closed at the arrival deadline")
    print(f"     closed after {time.monotonic() - t:.1f} s")


def idle_pair():
    r = room()
    a, _ = pipe(r)
    b, _ = pipe(r)
    a.sendall(b"hi")
    b.settimeout(5)
    check(b.recv(2) == b"hi", "pair works")
    check(ends_within(a, 10) and ends_within(b, 10), "an idle pair is closed at the idle timeout")


def half_open():
    # One side says it is done and then never reads again; the other keeps
    # its socket open and silent. The relay passes the EOF on and closes
    # both at the idle timeout.
    r = room()
    a, _ = pipe(r)
    b, _ = pipe(r)
    a.sendall(b"bye")
    a.shutdown(socket.SHUT_WR)
    b.settimeout(5)
    got = b""
    while len(got) < 3:
        d = b.recv(3)
        if not d:
            break
        got += d
    check(got == b"bye", "data before a half-close arrives")
    check(b.recv(1) == b"", "the half-close reaches the other side")
    check(ends_within(a, 10), "the half-open pair is closed at last")
    b.close()


def slow_reader():
    # B says one byte and is done sending; A sends 16 MiB and is done too,
    # while B does not read yet, so A's last bytes wait in the relay's
    # buffers behind a full pipe when A's end arrives. B must still get
    # every byte (the relay once cut such a room short on EPOLLHUP).
    import threading

    r = room()
    a, _ = pipe(r)
    b = socket.socket()
    b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    b.connect((host, port))
    b.sendall(
        f"GET /v1/pipe/{r} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
        f"Upgrade: pcp-relay/1\r\n\r\n".encode()
    )
    check(status(pcpwire.read_head(b)) == 101, "slow reader admitted")
    time.sleep(0.2)
    b.sendall(b"x")
    b.shutdown(socket.SHUT_WR)
    size = 16 << 20

    def writer():
        buf = bytes(1 << 20)
        for _ in range(size >> 20):
            a.sendall(buf)
        a.shutdown(socket.SHUT_WR)

    t = threading.Thread(target=writer)
    t.start()
    a.settimeout(20)
    got_a = b""
    while True:
        c = a.recv(100)
        if not c:
            break
        got_a += c
    time.sleep(0.5)  # well inside the relay's idle timeout (2 s)
    b.settimeout(20)
    n = 0
    while True:
        c = b.recv(1 << 16)
        if not c:
            break
        n += len(c)
        time.sleep(0.0005)  # a slow reader: the pipe stays full
    t.join(20)
    check(got_a == b"x", "the fast side got the slow side's byte")
    check(n == size, f"the slow reader got {n} of {size} bytes")
    a.close()
    b.close()


def byte_cap():
    import threading

    r = room()
    a, _ = pipe(r)
    b, _ = pipe(r)
    got = [0]

    def reader():
        b.settimeout(10)
        try:
            while True:
                d = b.recv(1 << 20)
                if not d:
                    break
                got[0] += len(d)
        except (socket.timeout, ConnectionResetError):
            pass

    t = threading.Thread(target=reader)
    t.start()
    a.settimeout(10)
    sent = 0
    try:
        chunk = b"z" * 65536
        for _ in range(512):  # 32 MiB against a 20 MiB cap
            a.sendall(chunk)
            sent += len(chunk)
    except OSError:
        pass
    t.join(15)
    # The relay closed the sender's side too. (Whether the sender's writes
    # failed before all 32 MiB were queued depends on the socket buffers,
    # so that is not what is checked.)
    a.settimeout(5)
    try:
        closed = a.recv(1) == b""
    except socket.timeout:
        closed = False
    except OSError:
        closed = True
    check(got[0] <= (20 << 20) + 1 and closed,
          f"byte cap: {got[0]} of {sent} bytes passed, then the room was closed")


def many_lone():
    before = rss_kib()
    socks = []
    for _ in range(10):
        for i in range(15):
            s, st = pipe(room(), src=f"127.0.1.{len(socks) // 15 + 1}")
            socks.append(s)
    after = rss_kib()
    print(f"     150 lone peers: RSS {before} -> {after} KiB")
    check(after - before < 16 * 1024, "150 waiting peers cost less than 16 MiB")
    for s in socks:
        s.close()
    check(healthy(), "still serving")


def drain():
    # SIGTERM: an open pipe keeps working; a new client learns that the
    # relay drains (/healthz 503, /metrics pcp_relay_draining 1) and gets
    # no new room (503), so that it moves to the next relay of its list.
    r = room()
    a, _ = pipe(r)
    b, _ = pipe(r)
    os.kill(relay_pid, signal.SIGTERM)
    time.sleep(0.5)
    st, body = get("/healthz")
    check(st == 503 and b"draining" in body, "/healthz says 503 draining")
    st, body = get("/metrics")
    check(st == 200 and b"\npcp_relay_draining 1\n" in body, "/metrics says pcp_relay_draining 1")
    _, st = pipe(room())
    check(st == 503, "a new room is refused while draining")
    a.sendall(b"after the signal")
    b.settimeout(5)
    check(b.recv(16) == b"after the signal", "the open pipe still works after SIGTERM")
    a.close()
    b.close()


def drain_cut():
    # A pipe that does not finish is cut at the drain deadline.
    r = room()
    a, _ = pipe(r)
    b, _ = pipe(r)
    os.kill(relay_pid, signal.SIGTERM)
    check(ends_within(a, 10), "a pipe that outlives the drain is cut")


def rate_cap():
    # However fast the sender, the other side never gets more than a 2 MiB/s
    # cap allows for the time that passed (an upper bound only, so a slow
    # machine cannot make this fail).
    import threading

    r = room()
    a, _ = pipe(r)
    b, _ = pipe(r)

    def writer():
        try:
            while True:
                a.sendall(bytes(65536))
        except OSError:
            pass

    threading.Thread(target=writer, daemon=True).start()
    got, t0 = 0, time.monotonic()
    b.settimeout(5)
    while time.monotonic() - t0 < 2.5:
        got += len(b.recv(1 << 20))
    elapsed = time.monotonic() - t0
    limit = 2 * 1048576 * (elapsed + 0.3) + 65536
    check(0 < got <= limit, f"got {got} bytes in {elapsed:.2f} s; the cap allows {limit:.0f}")


def prefix_squat():
    # One /64 puts a record under every channel of a bucket from as many
    # of its addresses: it gets the shares of one address (32), and
    # another /64 still puts.
    ok = 0
    for ch in range(2048):
        st = put(f"{ch:064x}", os.urandom(16).hex(), record(room()),
                 f"2001:db8:bad::{ch >> 8:x}:{ch & 0xff:x}:1")
        if st not in (200, 429):
            check(False, f"put {ch} answered {st}")
        ok += st == 200
    check(ok <= 32, f"one /64 put {ok} of 2048 channel keys")
    for i, ch in enumerate((0, 2047)):
        st = put(f"{ch:064x}", os.urandom(16).hex(), record(room()), f"2001:db8:600d::{i + 1}")
        check(st == 200, f"another /64 puts under channel {ch}: {st}")
    check(healthy("2001:db8:bad::1"), "the squatting /64 is still served")


def two_senders():
    key = os.urandom(32).hex()
    a, b = os.urandom(16).hex(), os.urandom(16).hex()
    ra, rb = room(), room()
    check(put(key, a, record(ra)) == 200, "the first sender puts")
    check(put(key, b, record(rb), "127.0.0.2") == 200, "a second sender puts under the same key")
    st, body = get(f"/v1/rv/{key}?all=1")
    check(st == 200 and body == record(rb) + b"\n" + record(ra),
          f"GET ?all=1 gives both, newest first: {st} {body!r}")
    st, body = get(f"/v1/rv/{key}")
    check(st == 200 and body == record(rb), f"a plain GET gives the newest: {body!r}")
    check(delete(key, a) == 204, "the first sender withdraws its record")
    st, body = get(f"/v1/rv/{key}?all=1")
    check(st == 200 and body == record(rb), f"the second sender's stays: {body!r}")
    check(delete(key, a) == 409, "nobody deletes another sender's record")


def squat():
    # A stranger reads the waiting sender's record (the channel word is
    # public), joins its room and says nothing. The relay dissolves that
    # pair within seconds; t_relay_abuse.sh checks that a real receiver
    # that comes meanwhile still gets the file.
    cur, prev = pcpwire.rv_keys(pcpwire.channel_of(sys.argv[4]))
    st = None
    for key in (cur, prev, cur):
        st, body = get(f"/v1/rv/{key}?wait=5")
        if st == 200:
            break
    check(st == 200, "the stranger read the sender's record")
    r = [l[5:] for l in body.decode().split("\n") if l.startswith("room=")][0]
    time.sleep(1)  # the sender's connection waits in its room by now
    s, st = pipe(r)
    check(st == 101, "the stranger joined the sender's room")
    print("joined", flush=True)
    t = time.monotonic()
    check(ends_within(s, 20), "the relay closed the stranger's silent pair")
    print(f"     closed after {time.monotonic() - t:.1f} s", flush=True)


scenarios = {
    "prefix_squat": prefix_squat,
    "two_senders": two_senders,
    "squat": squat,
    "drain": drain,
    "drain_cut": drain_cut,
    "rate_cap": rate_cap,
    "garbage": garbage,
    "oversized": oversized,
    "slowloris": slowloris,
    "per_ip": per_ip,
    "third_peer": third_peer,
    "early_speaker": early_speaker,
    "no_peer": no_peer,
    "idle_pair": idle_pair,
    "half_open": half_open,
    "slow_reader": slow_reader,
    "byte_cap": byte_cap,
    "many_lone": many_lone,
}
scenarios[sys.argv[3]]()
