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

/* PCP_ERR_BAD_CODE when the peer's confirmation fails: for the sender that
 * also covers a peer that took our share and went away, since it could
 * test one guess against it. */
int handshake_receiver(int fd, struct frame_reader *fr, const uint8_t *pw, size_t pwlen,
                       const char *aad, uint8_t tx[32], uint8_t rx[32]);
int handshake_sender(int fd, struct frame_reader *fr, const uint8_t *pw, size_t pwlen,
                     const char *aad, uint8_t tx[32], uint8_t rx[32]);

#endif
