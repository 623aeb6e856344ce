#!/usr/bin/env python3
"""pty_answer.py PROMPT ANSWER CMD...: run CMD on a new pseudo-terminal (its
controlling terminal, so that /dev/tty is this pty), wait until PROMPT
appears in what it writes there, type ANSWER and a newline, and copy all
it wrote to stdout. Exits with CMD's status (124 when the prompt never came
within 30 s)."""
import os
import pty
import select
import sys
import time

prompt, answer, cmd = sys.argv[1].encode(), sys.argv[2].encode(), sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
seen, answered, deadline = b"", False, time.monotonic() + 30
while True:
    if time.monotonic() > deadline:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        sys.stdout.buffer.write(seen)
        sys.exit(124)
    r, _, _ = select.select([fd], [], [], 0.1)
    if r:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b""
        if not chunk:
            break
        seen += chunk
    if not answered and prompt in seen:
        os.write(fd, answer + b"\n")
        answered = True
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(seen)
sys.exit(os.waitstatus_to_exitcode(status))
