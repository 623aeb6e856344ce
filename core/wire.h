/*
 * wire.h - the messages inside the sealed streams after the handshake
 * (PROTOCOL.md, "Transfer"), and the record a .pcp-part carries: their
 * types, field layouts and sizes, and the helpers that put and get them.
 *
 * The one place these layouts are written down in C: the transfer's
 * pipelines, the fuzz targets and the hostile test peer all use it and
 * repeat none of it. Nothing here does I/O on the network or knows a
 * codec; the prefix hash reads the file it is given, nothing else.
 */
#ifndef PCP_WIRE_H
#define PCP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Message types: the first byte of every message. */
enum xfer_msg {
    XM_OFFER = 1,    /* u8 last ‖ manifest bytes */
    XM_ACCEPT = 2,   /* [u32 n ‖ n × (u32 file ‖ u64 have ‖ prefix BLAKE2b-256)] */
    XM_REFUSE = 3,   /* u16 err ‖ text */
    XM_DATA = 4,     /* u32 file ‖ u64 offset ‖ u8 flags ‖ u32 raw_len ‖ payload */
    XM_FILE_END = 5, /* u32 file ‖ digest[32] */
    XM_END = 6,      /* u64 bytes ‖ u32 files (TAG_FINAL) */
    XM_DONE = 7,     /* (TAG_FINAL) */
    XM_ERROR = 8,    /* u16 err ‖ text (TAG_FINAL) */
    XM_FILES = 9,    /* u8 flags ‖ u32 raw_len ‖ payload: whole small files */
};

/* DATA's and FILES' flags: how the payload is compressed. */
#define XF_DEFLATED 1u
#define XF_ZSTD 2u /* only when both ends said they have zstd */
/* In the stream-header byte, next to the cipher set: this end has zstd. */
#define XFER_HELLO_ZSTD 0x80u

#define XFER_DIGESTBYTES 32u
/* The authenticator at the end of each sealed frame (what a file's digest
 * is made of). */
#define XFER_MACBYTES 16u

/* OFFER: type ‖ u8 last, then manifest bytes. */
#define XM_OFFER_HDR 2u
/* ACCEPT: type ‖ u32 n, then n entries; a bare type byte offers none. */
#define XM_ACCEPT_HDR 5u
#define XM_RESUME_ENTRY (4u + 8u + XFER_DIGESTBYTES)
/* REFUSE and ERROR: type ‖ u16 code (the pcp_err, negated) ‖ text. */
#define XM_ERR_HDR 3u
/* DATA: type ‖ u32 file ‖ u64 offset ‖ u8 flags ‖ u32 raw_len. */
#define XM_DATA_HDR 18u
/* FILES: type ‖ u8 flags ‖ u32 raw_len. After expansion it carries records
 * `u32 file ‖ u32 size ‖ bytes`: consecutive files of the offer, each
 * whole and this small at most. */
#define XM_FILES_HDR 6u
#define XM_FILES_REC 8u
#define XFER_BATCH_FILE_MAX (64u * 1024u)
/* FILE_END: type ‖ u32 file ‖ digest. */
#define XM_FILE_END_LEN (1u + 4u + XFER_DIGESTBYTES)
/* END: type ‖ u64 bytes ‖ u32 files. */
#define XM_END_LEN 13u

static inline void wire_put_be64(uint8_t *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

static inline uint64_t wire_get_be64(const uint8_t *p)
{
    return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* The header in front of a DATA or FILES payload. */
static inline size_t wire_hdr_len(uint8_t kind)
{
    return kind == XM_FILES ? XM_FILES_HDR : XM_DATA_HDR;
}

static inline void wire_put_data_hdr(uint8_t h[XM_DATA_HDR], uint32_t file, uint64_t offset,
                                     uint8_t flags, uint32_t raw_len)
{
    h[0] = XM_DATA;
    put_be32(h + 1, file);
    wire_put_be64(h + 5, offset);
    h[13] = flags;
    put_be32(h + 14, raw_len);
}

static inline void wire_put_files_hdr(uint8_t h[XM_FILES_HDR], uint8_t flags, uint32_t raw_len)
{
    h[0] = XM_FILES;
    h[1] = flags;
    put_be32(h + 2, raw_len);
}

/* One record of a FILES payload; its bytes follow. */
static inline void wire_put_files_rec(uint8_t rec[XM_FILES_REC], uint32_t file, uint32_t size)
{
    put_be32(rec, file);
    put_be32(rec + 4, size);
}

/* FILE_END without its digest, which goes at m + 5. */
static inline void wire_put_file_end(uint8_t m[XM_FILE_END_LEN], uint32_t file)
{
    m[0] = XM_FILE_END;
    put_be32(m + 1, file);
}

static inline void wire_put_end(uint8_t m[XM_END_LEN], uint64_t bytes, uint32_t files)
{
    m[0] = XM_END;
    wire_put_be64(m + 1, bytes);
    put_be32(m + 9, files);
}

/* One entry of ACCEPT's resume list. */
static inline void wire_put_resume(uint8_t p[XM_RESUME_ENTRY], uint32_t file, uint64_t have,
                                   const uint8_t prefix[XFER_DIGESTBYTES])
{
    put_be32(p, file);
    wire_put_be64(p + 4, have);
    for (size_t i = 0; i < XFER_DIGESTBYTES; i++)
        p[12 + i] = prefix[i];
}

/* Resume. A .pcp-part carries, in the extended attribute XFER_PART_XATTR,
 * what ties it to the transfer it came from: the offered size and mtime,
 * a hash of the offered path, its own inode and a random id drawn when it
 * was created. Encoded as `"PCPP" ‖ u8 1 ‖ u64 size ‖ u64 mtime_ns ‖
 * u64 ino ‖ path_hash[16] ‖ id[16]` (big-endian), exactly
 * XFER_PARTMETA_LEN bytes. */
#define XFER_PART_XATTR "user.pcp.part"
#define XFER_PARTMETA_LEN 61u
struct xfer_partmeta {
    uint64_t size;
    int64_t mtime_ns;
    uint64_t ino;
    uint8_t path_hash[16];
    uint8_t id[16];
};
void xfer_partmeta_encode(const struct xfer_partmeta *pm, uint8_t out[XFER_PARTMETA_LEN]);
/* Bytes read from disk: 0 only for exactly one well-formed record. */
int xfer_partmeta_parse(const uint8_t *p, size_t len, struct xfer_partmeta *pm);
/* The path hash a part file of `path` records. */
void xfer_partmeta_path_hash(const char *path, uint8_t out[16]);
/* The key that resume's prefix hashes are keyed with, from the session's
 * traffic keys as this side holds them (sender: 1 on the sending side);
 * both sides get the same bytes. */
void xfer_resume_key(const uint8_t tx[32], const uint8_t rx[32], int sender, uint8_t key[32]);
/* Keyed BLAKE2b-256 of the first len bytes of fd; PCP_ERR_CHANGED when
 * the file is shorter. */
int xfer_prefix_hash(int fd, uint64_t len, const uint8_t key[32], uint8_t out[XFER_DIGESTBYTES]);

#endif
