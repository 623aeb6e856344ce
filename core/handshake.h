/*
 * handshake.h - pcp/1 SPAKE2 handshake over a connected socket.
 *
 *   A (receiver) -> B (sender):  "pcp1" ‖ pA
 *   B -> A:                      pB ‖ cB
 *   A -> B:                      cA
 *
 * Each message is one frame. On success both sides hold the traffic keys:
 * tx seals what this side sends, rx opens what it receives.
 */
#ifndef PCP_HANDSHAKE_H
#define PCP_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#include "stream.h"

#define HANDSHAKE_MAGIC "pcp1"

/* How long a whole handshake may take by default: the sender meets
 * strangers and lets none of them hold it for long; the receiver talks to
 * the one sender it found, perhaps over a slow relay. */
#define HANDSHAKE_SENDER_MS 5000
#define HANDSHAKE_RECEIVER_MS 30000

/* The handshake, finished by deadline_ms (net_now_ms()'s clock) or
 * PCP_ERR_TIMEOUT: every read and write waits at most for the time left,
 * so a peer that trickles bytes cannot hold it longer. The socket is
 * non-blocking meanwhile and left as it was.
 *
 * PCP_ERR_BAD_CODE when the peer's confirmation fails: for the sender that
 * also covers a peer that took our share (message 2) and then went away or
 * ran out of time, since it could test one guess against it. Anything the
 * sender returns before that cost no guess. */
int handshake_receiver_by(int fd, struct frame_reader *fr, const uint8_t *pw, size_t pwlen,
                          const char *aad, int64_t deadline_ms, uint8_t tx[32], uint8_t rx[32]);
int handshake_sender_by(int fd, struct frame_reader *fr, const uint8_t *pw, size_t pwlen,
                        const char *aad, int64_t deadline_ms, uint8_t tx[32], uint8_t rx[32]);

/* The same with the default deadline from now. */
int handshake_receiver(int fd, struct frame_reader *fr, const uint8_t *pw, size_t pwlen,
                       const char *aad, uint8_t tx[32], uint8_t rx[32]);
int handshake_sender(int fd, struct frame_reader *fr, const uint8_t *pw, size_t pwlen,
                     const char *aad, uint8_t tx[32], uint8_t rx[32]);

#endif
