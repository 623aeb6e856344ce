#!/usr/bin/env bash
# The receiving disk: too small for the offer (refused before anything is
# written, both sides say why), read-only (refused before anything moves),
# and full in the middle of a transfer (a clear error, what arrived kept as
# .pcp-part, and once there is room again the transfer resumes). The small
# and read-only disks are tmpfs mounts in a mount namespace of this test's
# own, gone when it ends.
if [ "${PCP_DISK_INNER:-}" != 1 ]; then
    unshare -m true 2>/dev/null || { echo "SKIP: no mount namespaces"; exit 77; }
    PCP_DISK_INNER=1 exec unshare -m --propagation private bash "$0"
fi
. "$(dirname "$0")/lib.sh"
trap 'umount -l "$WORK"/small "$WORK"/ro "$WORK"/disk 2>/dev/null; cleanup' EXIT
tc qdisc add dev lo root tbf rate 400mbit burst 256kb latency 50ms
head -c $((16 * 1024 * 1024)) /dev/urandom >"$WORK/f"
mkdir -p "$WORK/small" "$WORK/ro" "$WORK/disk"

# 1. 8 MiB of room for 16 MiB: refused before a byte is written.
mount -t tmpfs -o size=8m tmpfs "$WORK/small"
start_sender "$WORK/f"
receive --yes --out "$WORK/small" "$CODE"
wait_sender
[ "$RECV_RC" -eq 6 ] || fail "small disk: receiver exit $RECV_RC, want 6"
grep -q "not enough space in $WORK/small" "$WORK/receiver.err" || fail "small disk: no clear message"
[ "$SENDER_RC" -ne 0 ] || fail "small disk: the sender claimed success"
grep -q "not enough space on the receiver" "$WORK/sender.err" || fail "small disk: the sender was not told why"
[ -z "$(ls -A "$WORK/small")" ] || fail "small disk: something was written"

# 2. A read-only target: refused before anything moves.
mount -t tmpfs -o size=64m,ro tmpfs "$WORK/ro"
start_sender "$WORK/f"
receive --yes --out "$WORK/ro" "$CODE"
wait_sender
[ "$RECV_RC" -eq 6 ] || fail "read-only: receiver exit $RECV_RC, want 6"
grep -q "cannot write" "$WORK/receiver.err" || fail "read-only: no clear message"
grep -q "cannot write to its target directory" "$WORK/sender.err" || fail "read-only: the sender was not told"

# 3. Room at the start, but the disk fills while the file arrives.
mount -t tmpfs -o size=24m tmpfs "$WORK/disk"
start_sender --no-compress "$WORK/f"
"$PCP" receive --json --yes --out "$WORK/disk" "$CODE" >"$WORK/receiver.json" \
    2>"$WORK/receiver.err" &
rpid=$!
for _ in $(seq 1 500); do
    [ "$(stat -c %s "$WORK/disk/f.pcp-part" 2>/dev/null || echo 0)" -gt 1000000 ] && break
    sleep 0.01
done
# Something else takes the rest of the disk.
dd if=/dev/zero of="$WORK/disk/filler" bs=1M count=64 status=none 2>/dev/null || true
set +e
wait "$rpid"
RECV_RC=$?
set -e
wait_sender
[ "$RECV_RC" -eq 6 ] || fail "full disk: receiver exit $RECV_RC, want 6"
grep -q "the disk is full" "$WORK/receiver.err" || fail "full disk: no clear message"
grep -q "not enough space on the disk" "$WORK/sender.err" || fail "full disk: the sender was not told"
have=$(stat -c %s "$WORK/disk/f.pcp-part")
[ "$have" -gt 0 ] || fail "full disk: nothing kept"
[ ! -e "$WORK/disk/f" ] || fail "full disk: a final name"

# Room again: the transfer resumes from what was kept.
rm "$WORK/disk/filler"
start_sender --no-compress "$WORK/f"
receive --yes --out "$WORK/disk" "$CODE"
wait_sender
[ "$RECV_RC" -eq 0 ] && [ "$SENDER_RC" -eq 0 ] || fail "after the full disk: exit $RECV_RC/$SENDER_RC"
cmp "$WORK/f" "$WORK/disk/f" || fail "after the full disk: content differs"
grep -q '"event":"resume","files":1' "$WORK/receiver.json" || fail "after the full disk: no resume"
echo "full disk at $have bytes; resumed"
echo PASS
