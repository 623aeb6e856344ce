#!/usr/bin/python3
"""stranger.py - a peer at a sender's port that does not know the code.

    stranger.py trickle HOST PORT [--bind ADDR]
        Start message 1 and send one more byte every 2 s, never finishing
        it; exit 0 when the sender closes the connection.
    stranger.py relay-trickle HOST PORT --code CODE
        The same in the sender's relay room: HOST:PORT is the relay, whose
        rendezvous record for CODE's channel names the room (the channel
        word is public). Prints "joined" once it is in the room.
    stranger.py guess HOST PORT [--bind ADDR] [--hold-ms MS]
        Send a message 1, read message 2 (the 64 bytes with which a guess
        could be tested offline) and close. Exit 0 when it came, 2 when the
        sender closed first, 3 when it had not come after --hold-ms (then
        keep waiting for it up to --wait s: exit 4 when it came at last).

Frames are u32 big-endian length || bytes; message 1 is "pcp1" || a share,
and any valid ristretto255 point will do: the base point's encoding.
"""
import argparse
import socket
import struct
import sys
import time

import pcpwire

BASE = bytes.fromhex("e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76")


def connect(host, port, bind):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    if bind:
        s.bind((bind, 0))
    s.connect((host, port))
    return s


def relay_room(host, port, code):
    """The room named by the sender's rendezvous record (PROTOCOL.md)."""
    for key in pcpwire.rv_keys(pcpwire.channel_of(code)):
        s = connect(host, port, None)
        s.sendall(f"GET /v1/rv/{key}?wait=5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                  .encode())
        resp = b""
        while True:
            c = s.recv(4096)
            if not c:
                break
            resp += c
        s.close()
        if resp.startswith(b"HTTP/1.1 200"):
            for line in resp.split(b"\r\n\r\n", 1)[1].decode().split("\n"):
                if line.startswith("room="):
                    return line[5:]
    sys.exit("no record for the code's channel")


def relay_join(host, port, room):
    s = connect(host, port, None)
    s.sendall(f"GET /v1/pipe/{room} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
              f"Upgrade: pcp-relay/1\r\n\r\n".encode())
    head = pcpwire.read_head(s)
    if not head.startswith(b"HTTP/1.1 101"):
        sys.exit(f"the relay refused the room: {head[:40]!r}")
    print("joined", flush=True)
    return s


def trickle(s):
    # A frame that claims 200 bytes: at one byte per 2 s it would take
    # almost 7 minutes to finish.
    data = struct.pack(">I", 200) + b"pcp1" + BASE + b"\0" * 164
    s.settimeout(2.0)
    for b in data:
        try:
            s.sendall(bytes([b]))
            if s.recv(1) == b"":
                return 0
        except socket.timeout:
            continue
        except OSError:
            return 0
    return 1


def guess(s, hold_ms, wait_s):
    s.sendall(struct.pack(">I", 36) + b"pcp1" + BASE)
    s.settimeout(hold_ms / 1000.0 if hold_ms else wait_s)
    try:
        m2 = pcpwire.read_exact(s, 4 + 64)
    except socket.timeout:
        if not hold_ms:
            return 3
        s.settimeout(wait_s)
        try:
            m2 = pcpwire.read_exact(s, 4 + 64)
        except (socket.timeout, OSError):
            return 3
        return 4 if m2 else 2
    except OSError:
        return 2
    if m2 is None:
        return 2
    if struct.unpack(">I", m2[:4])[0] != 64:
        return 1
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["trickle", "guess", "relay-trickle"])
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--bind")
    ap.add_argument("--hold-ms", type=int, default=0)
    ap.add_argument("--wait", type=float, default=20.0)
    ap.add_argument("--code")
    a = ap.parse_args()
    if a.mode == "relay-trickle":
        s = relay_join(a.host, a.port, relay_room(a.host, a.port, a.code))
        a.mode = "trickle"
    else:
        s = connect(a.host, a.port, a.bind)
    try:
        rc = trickle(s) if a.mode == "trickle" else guess(s, a.hold_ms, a.wait)
    finally:
        s.close()
    sys.exit(rc)


if __name__ == "__main__":
    main()
