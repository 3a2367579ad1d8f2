/*
 * Fuzz harness for the intel lists file parser (lib/intel/conf.c, used by the sensor
 * and by `otasuke intel update`): the input is parsed as the YAML file (from an
 * exact-size copy), and again as the sensor's configuration file holding an inline
 * `intel:` key among other settings (intel_conf_parse_inline); on success every list
 * has a name, path and category and at most INTEL_CONF_MAX_LISTS entries, and an
 * inline parse that found no key has no list. No MEM_CONF byte may remain afterwards.
 */
#include "otasuke/alloc.h"
#include "otasuke/intel.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct intel_conf c;
    char err[256];
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    struct mem_stat before, after;
    mem_get(MEM_CONF, &before);
    if (intel_conf_parse("fuzz.yaml", buf, size, "dir", &c, err, sizeof(err)) == 0) {
        if (c.n > INTEL_CONF_MAX_LISTS)
            abort();
        for (size_t i = 0; i < c.n; i++)
            if (c.lists[i].name == NULL || c.lists[i].path == NULL || c.lists[i].category == NULL)
                abort();
    } else if (err[0] == '\0') {
        abort();
    }
    intel_conf_free(&c);
    bool found;
    if (intel_conf_parse_inline("fuzz.yaml", buf, size, "dir", &c, &found, err, sizeof(err)) ==
        0) {
        if (c.n > INTEL_CONF_MAX_LISTS || (!found && c.n != 0))
            abort();
        for (size_t i = 0; i < c.n; i++)
            if (c.lists[i].name == NULL || c.lists[i].path == NULL || c.lists[i].category == NULL)
                abort();
    } else if (err[0] == '\0') {
        abort();
    }
    intel_conf_free(&c);
    mem_get(MEM_CONF, &after);
    if (after.in_use != before.in_use)
        abort();
    free(buf);
    return 0;
}
