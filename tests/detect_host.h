/*
 * Shared by the detector unit tests (detect_test, anomaly_test, beacon_test, dga_test):
 * a `struct detect_host` that keeps the first 64 lines the detector writes (alerts and
 * stats) in `got`, the `conf` the tests set before each mk(), mk() building a detector
 * on it with that host (and clearing `got`), and count_with() counting the kept lines
 * that contain a string.
 *
 * Header-only (static functions); include it once per test program.
 */
#ifndef OTASUKE_TESTS_DETECT_HOST_H
#define OTASUKE_TESTS_DETECT_HOST_H

#include "detect/detect.h"
#include "sensor_conf.h"

#include <stdio.h>
#include <string.h>

static char got[64][2048];
static int ngot;

static void cap_write(void *ud, const char *line, size_t len, uint64_t ts)
{
    (void)ud;
    (void)ts;
    if (ngot < 64 && len < sizeof(got[0])) {
        memcpy(got[ngot], line, len);
        got[ngot][len] = '\0';
        ngot++;
    }
}

static struct sensor_conf conf;

static struct detect *mk(void)
{
    char err[256];
    ngot = 0;
    struct detect_host h = {cap_write, NULL};
    struct detect *d = detect_new(&conf, &h, err, sizeof(err));
    if (d == NULL)
        fprintf(stderr, "detect_new: %s\n", err);
    return d;
}

static int count_with(const char *needle)
{
    int n = 0;
    for (int i = 0; i < ngot; i++)
        n += strstr(got[i], needle) != NULL;
    return n;
}

#endif
