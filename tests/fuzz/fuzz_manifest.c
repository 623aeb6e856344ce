/* libFuzzer target: the manifest decoder (untrusted offer from a sender).
 * Whatever decodes must re-encode to the same bytes, hold only safe paths
 * and cost no more than MF_MEM_MAX; fed in pieces, as a receiver gets it,
 * it must decode to the same or fail the same way. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"

/* data fed to a decoder in pieces of `piece` bytes (the last shorter). */
static int decode_pieces(struct manifest *m, const uint8_t *data, size_t size, size_t piece)
{
    struct mf_decoder d;
    int r = 0;
    manifest_decoder_init(&d, m);
    for (size_t off = 0; off < size && !r; off += piece)
        r = manifest_decoder_feed(&d, data + off, size - off < piece ? size - off : piece);
    if (!r)
        r = manifest_decoder_finish(&d);
    manifest_decoder_free(&d);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct manifest m, p;
    int r = manifest_decode(&m, data, size);
    /* Pieces of 1 to 64 bytes, the size chosen by the input. */
    int rp = decode_pieces(&p, data, size, size ? (size_t)data[size - 1] % 64 + 1 : 1);
    if ((r == 0) != (rp == 0) || (r == 0 && p.n != m.n))
        abort();
    if (rp == 0) {
        struct wbuf wp;
        wbuf_init(&wp);
        if (manifest_encode(&p, &wp) != 0 || wp.len != size || memcmp(wp.p, data, size) != 0)
            abort();
        wbuf_free(&wp);
        manifest_free(&p);
    }
    if (r != 0)
        return 0;
    struct wbuf w;
    wbuf_init(&w);
    if (manifest_encode(&m, &w) != 0 || w.len != size || memcmp(w.p, data, size) != 0)
        abort();
    if (manifest_cost(&m) > MF_MEM_MAX)
        abort();
    for (size_t i = 0; i < m.n; i++) {
        if (m.e[i].type == MF_TEXT) {
            /* A message: alone, no path, its size its length. */
            char shown[64];
            if (m.n != 1 || m.e[i].path[0] || strlen(m.e[i].text) != m.e[i].size)
                abort();
            manifest_display_text(m.e[i].text, shown, sizeof(shown));
            continue;
        }
        if (mf_streamed(&m.e[i]) && m.n != 1)
            abort();
        if (manifest_path_check(m.e[i].path, strlen(m.e[i].path)) != 0)
            abort();
        if (m.e[i].type == MF_LINK && manifest_link_check(m.e[i].path, m.e[i].link) != 0)
            abort();
        char shown[64];
        manifest_display(m.e[i].path, shown, sizeof(shown));
        /* No byte a terminal acts on reaches it, and no quote unescaped. */
        for (const char *c = shown; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f ||
                (*c == '\'' && (c == shown || c[-1] != '\\')))
                abort();
    }
    size_t bad = 0;
    if (manifest_check_tree(&m, &bad) != 0 && bad >= m.n)
        abort();
    wbuf_free(&w);
    manifest_free(&m);
    return 0;
}
