/* libFuzzer target: the record a .pcp-part carries (XFER_PART_XATTR),
 * bytes read from disk that anyone with write access to the target may
 * have put there. Whatever parses must be exactly one record of the one
 * version and re-encode to the same bytes; nothing else may parse. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct xfer_partmeta pm;
    uint8_t back[XFER_PARTMETA_LEN];
    if (xfer_partmeta_parse(data, size, &pm) != 0)
        return 0;
    if (size != XFER_PARTMETA_LEN || pm.size == MF_SIZE_STREAM)
        abort();
    xfer_partmeta_encode(&pm, back);
    if (memcmp(back, data, size) != 0)
        abort();
    return 0;
}
