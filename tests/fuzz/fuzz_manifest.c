/* libFuzzer target: the manifest decoder (untrusted offer from a sender).
 * Whatever decodes must re-encode to the same bytes and hold only safe
 * paths. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct manifest m;
    if (manifest_decode(&m, data, size) != 0)
        return 0;
    struct wbuf w;
    wbuf_init(&w);
    if (manifest_encode(&m, &w) != 0 || w.len != size || memcmp(w.p, data, size) != 0)
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
    }
    size_t bad = 0;
    if (manifest_check_tree(&m, &bad) != 0 && bad >= m.n)
        abort();
    wbuf_free(&w);
    manifest_free(&m);
    return 0;
}
