/*
 * Fuzz harness for the look inside archives (sensor/detect/archive.c) and the
 * kept-bytes buffers of sensor/app/files.c: the input, copied into an exact-size
 * buffer, is inspected under small limits (first byte: depth 1-4 and ratio on/off)
 * and fed to a kept file in chunks sized by the second byte. The result must be
 * consistent (an exe member has a name; counts within the limits), nothing may
 * crash, and no MEM_APP byte may remain.
 */
#include "app/files.h"
#include "detect/archive.h"
#include "otasuke/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    struct mem_stat before, after;
    mem_get(MEM_APP, &before);
    struct arc_limits lim = {1u << 20, 64, (uint32_t)(data[0] & 3) + 1,
                             (data[0] & 4) ? 100 : 0, (size_t)256 * 1024};
    size_t chunk = (size_t)data[1] * 16 + 1;
    data += 2;
    size -= 2;
    uint8_t *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);

    struct arc_result r;
    arc_inspect(buf, size, "fuzz.zip", &lim, &r);
    if (r.members > lim.max_members || r.bytes > lim.max_bytes || r.depth > lim.max_depth ||
        (r.exe && r.member[0] == '\0') || strlen(r.member) >= sizeof(r.member))
        abort();

    static struct app_file f;
    files_set_keep(arc_is_archive, 8192, 1u << 20);
    file_open(&f, "fuzz.bin", 8, 1, 0);
    for (size_t o = 0; o < size; o += chunk)
        file_data(&f, buf + o, size - o < chunk ? size - o : chunk);
    file_close(&f, true, false);
    size_t len;
    bool complete;
    const uint8_t *p = file_kept(&f, &len, &complete);
    if (len > size || (size > 0 && memcmp(p, buf, len) != 0) || (complete && len != size))
        abort();
    file_release(&f);
    files_set_keep(NULL, 0, 0);
    free(buf);
    mem_get(MEM_APP, &after);
    if (after.in_use != before.in_use)
        abort();
    return 0;
}
