/*
 * Fingerprint rules: the OS family and device kind of a device from what the
 * inventory saw of it (docs/inventory.md lists the same table). Every rule that
 * matches adds its weight to its kind; the kind with the highest sum wins (ties:
 * the earlier rule), the OS comes from the strongest matching rule that names one,
 * and the evidence lists the matching rules' descriptions.
 */
#define _GNU_SOURCE /* strcasestr */
#include "inventory/inventory.h"

#include "otasuke/ascii.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

enum rule_field { F_VENDOR, F_DHCPFP, F_NAME, F_UA, F_SERVICE, F_QUERY, F_MODEL, F_SSDP,
                  F_MAKER, F_ROLE_DHCP, F_ROLE_IGD, F_RANDOM };

enum rule_op { OP_PREFIX, OP_EXACT, OP_CONTAINS };

struct rule {
    enum rule_field field;
    enum rule_op op;
    const char *pat; /* case-insensitive */
    enum inv_kind kind;
    const char *os;  /* NULL: says nothing of the OS */
    unsigned weight;
    const char *why;
};

static const struct rule rules[] = {
    /* DHCP: the strongest signals (vendor class and option 55 order are set by the OS) */
    {F_VENDOR, OP_PREFIX, "MSFT", INV_KIND_WINDOWS_PC, "Windows", 50, "DHCP vendor class MSFT"},
    {F_DHCPFP, OP_EXACT, "1,3,6,15,31,33,43,44,46,47,119,121,249,252", INV_KIND_WINDOWS_PC,
     "Windows", 40, "DHCP parameter list of Windows 10/11"},
    {F_DHCPFP, OP_EXACT, "1,15,3,6,44,46,47,31,33,121,249,43", INV_KIND_WINDOWS_PC, "Windows",
     40, "DHCP parameter list of Windows 7/8"},
    {F_DHCPFP, OP_EXACT, "1,121,3,6,15,108,114,119,252,95,44,46", INV_KIND_MAC, "macOS", 40,
     "DHCP parameter list of macOS"},
    {F_DHCPFP, OP_EXACT, "1,121,3,6,15,119,252,95,44,46", INV_KIND_MAC, "macOS", 40,
     "DHCP parameter list of macOS (older)"},
    {F_DHCPFP, OP_EXACT, "1,121,3,6,15,108,114,119,252", INV_KIND_PHONE, "iOS", 40,
     "DHCP parameter list of iOS"},
    {F_DHCPFP, OP_EXACT, "1,121,3,6,15,119,252", INV_KIND_PHONE, "iOS", 40,
     "DHCP parameter list of iOS (older)"},
    {F_VENDOR, OP_PREFIX, "android-dhcp", INV_KIND_PHONE, "Android", 50,
     "DHCP vendor class android-dhcp"},
    {F_DHCPFP, OP_EXACT, "1,28,2,3,15,6,119,12,44,47,26,121,42", INV_KIND_LINUX_SERVER, "Linux",
     30, "DHCP parameter list of ISC dhclient (Linux)"},
    {F_DHCPFP, OP_EXACT, "1,28,2,3,15,6,12", INV_KIND_LINUX_SERVER, "Linux", 30,
     "DHCP parameter list of ISC dhclient (Linux)"},
    {F_VENDOR, OP_PREFIX, "dhcpcd", INV_KIND_LINUX_SERVER, "Linux", 15,
     "DHCP vendor class dhcpcd"},
    {F_VENDOR, OP_PREFIX, "udhcp", INV_KIND_IOT, "Linux (embedded)", 15,
     "DHCP vendor class udhcp (BusyBox)"},
    {F_VENDOR, OP_PREFIX, "Brother", INV_KIND_PRINTER, NULL, 40, "DHCP vendor class Brother"},
    {F_VENDOR, OP_PREFIX, "Canon", INV_KIND_PRINTER, NULL, 30, "DHCP vendor class Canon"},
    {F_VENDOR, OP_PREFIX, "EPSON", INV_KIND_PRINTER, NULL, 40, "DHCP vendor class EPSON"},
    {F_VENDOR, OP_PREFIX, "Hewlett-Packard JetDirect", INV_KIND_PRINTER, NULL, 40,
     "DHCP vendor class HP JetDirect"},
    /* host names */
    {F_NAME, OP_PREFIX, "iPhone", INV_KIND_PHONE, "iOS", 30, "host name iPhone"},
    {F_NAME, OP_PREFIX, "iPad", INV_KIND_PHONE, "iOS", 30, "host name iPad"},
    {F_NAME, OP_PREFIX, "android", INV_KIND_PHONE, "Android", 30, "host name android-*"},
    {F_NAME, OP_PREFIX, "Galaxy", INV_KIND_PHONE, "Android", 20, "host name Galaxy"},
    {F_NAME, OP_CONTAINS, "MacBook", INV_KIND_MAC, "macOS", 30, "host name MacBook"},
    {F_NAME, OP_PREFIX, "iMac", INV_KIND_MAC, "macOS", 30, "host name iMac"},
    {F_NAME, OP_PREFIX, "BRN", INV_KIND_PRINTER, NULL, 10, "host name BRN* (Brother)"},
    {F_NAME, OP_PREFIX, "NPI", INV_KIND_PRINTER, NULL, 10, "host name NPI* (HP)"},
    /* mDNS / DNS-SD services it announces, and model strings */
    {F_SERVICE, OP_PREFIX, "_ipp._tcp", INV_KIND_PRINTER, NULL, 30, "mDNS service _ipp._tcp"},
    {F_SERVICE, OP_PREFIX, "_printer._tcp", INV_KIND_PRINTER, NULL, 20,
     "mDNS service _printer._tcp"},
    {F_SERVICE, OP_PREFIX, "_pdl-datastream._tcp", INV_KIND_PRINTER, NULL, 20,
     "mDNS service _pdl-datastream._tcp"},
    {F_SERVICE, OP_PREFIX, "_afpovertcp._tcp", INV_KIND_NAS, NULL, 10,
     "mDNS service _afpovertcp._tcp"},
    {F_SERVICE, OP_PREFIX, "_smb._tcp", INV_KIND_NAS, NULL, 5, "mDNS service _smb._tcp"},
    {F_SERVICE, OP_PREFIX, "_rtsp._tcp", INV_KIND_CAMERA, NULL, 20, "mDNS service _rtsp._tcp"},
    {F_SERVICE, OP_PREFIX, "_googlecast._tcp", INV_KIND_IOT, NULL, 30,
     "mDNS service _googlecast._tcp"},
    {F_SERVICE, OP_PREFIX, "_hap._tcp", INV_KIND_IOT, NULL, 20, "mDNS service _hap._tcp"},
    {F_QUERY, OP_PREFIX, "_companion-link._tcp", INV_KIND_PHONE, "iOS", 5,
     "asks mDNS for _companion-link (Apple)"},
    {F_MODEL, OP_CONTAINS, "Synology", INV_KIND_NAS, "Linux (DSM)", 40, "model Synology"},
    {F_MODEL, OP_PREFIX, "DS", INV_KIND_NAS, NULL, 5, "model DS*"},
    {F_MODEL, OP_CONTAINS, "MacBook", INV_KIND_MAC, "macOS", 30, "model MacBook"},
    {F_MODEL, OP_CONTAINS, "iPhone", INV_KIND_PHONE, "iOS", 40, "model iPhone"},
    /* SSDP server strings and roles */
    {F_SSDP, OP_CONTAINS, "Synology", INV_KIND_NAS, "Linux (DSM)", 30, "SSDP server Synology"},
    {F_SSDP, OP_CONTAINS, "QNAP", INV_KIND_NAS, "Linux (QTS)", 30, "SSDP server QNAP"},
    {F_SSDP, OP_CONTAINS, "Windows", INV_KIND_WINDOWS_PC, "Windows", 15, "SSDP server Windows"},
    {F_ROLE_DHCP, OP_EXACT, "", INV_KIND_ROUTER, NULL, 30, "answers DHCP"},
    {F_ROLE_IGD, OP_EXACT, "", INV_KIND_ROUTER, NULL, 30, "announces a UPnP gateway (IGD)"},
    /* HTTP user agents */
    {F_UA, OP_CONTAINS, "Windows NT", INV_KIND_WINDOWS_PC, "Windows", 10, "user agent Windows"},
    {F_UA, OP_PREFIX, "Microsoft NCSI", INV_KIND_WINDOWS_PC, "Windows", 10,
     "user agent Microsoft NCSI"},
    {F_UA, OP_CONTAINS, "Macintosh", INV_KIND_MAC, "macOS", 10, "user agent Macintosh"},
    {F_UA, OP_CONTAINS, "iPhone", INV_KIND_PHONE, "iOS", 15, "user agent iPhone"},
    {F_UA, OP_CONTAINS, "Android", INV_KIND_PHONE, "Android", 15, "user agent Android"},
    {F_UA, OP_CONTAINS, "Ubuntu", INV_KIND_LINUX_SERVER, "Linux", 10, "user agent Ubuntu"},
    /* makers (IEEE OUI registry): weaker, a maker makes many kinds */
    {F_MAKER, OP_PREFIX, "Synology", INV_KIND_NAS, "Linux (DSM)", 40, "maker Synology"},
    {F_MAKER, OP_PREFIX, "QNAP", INV_KIND_NAS, "Linux (QTS)", 40, "maker QNAP"},
    {F_MAKER, OP_PREFIX, "Brother", INV_KIND_PRINTER, NULL, 20, "maker Brother"},
    {F_MAKER, OP_PREFIX, "Seiko Epson", INV_KIND_PRINTER, NULL, 20, "maker Epson"},
    {F_MAKER, OP_PREFIX, "KYOCERA", INV_KIND_PRINTER, NULL, 20, "maker Kyocera"},
    {F_MAKER, OP_PREFIX, "Ricoh", INV_KIND_PRINTER, NULL, 20, "maker Ricoh"},
    {F_MAKER, OP_PREFIX, "Xerox", INV_KIND_PRINTER, NULL, 20, "maker Xerox"},
    {F_MAKER, OP_PREFIX, "Panasonic Connect", INV_KIND_CAMERA, NULL, 20,
     "maker Panasonic Connect (i-PRO cameras)"},
    {F_MAKER, OP_PREFIX, "i-PRO", INV_KIND_CAMERA, NULL, 40, "maker i-PRO"},
    {F_MAKER, OP_PREFIX, "Axis Communications", INV_KIND_CAMERA, NULL, 40, "maker Axis"},
    {F_MAKER, OP_CONTAINS, "Hikvision", INV_KIND_CAMERA, NULL, 40, "maker Hikvision"},
    {F_MAKER, OP_CONTAINS, "Dahua", INV_KIND_CAMERA, NULL, 40, "maker Dahua"},
    {F_MAKER, OP_PREFIX, "YAMAHA", INV_KIND_ROUTER, NULL, 20, "maker Yamaha (routers)"},
    {F_MAKER, OP_PREFIX, "NEC Platforms", INV_KIND_ROUTER, NULL, 15, "maker NEC Platforms"},
    {F_MAKER, OP_PREFIX, "Fortinet", INV_KIND_ROUTER, NULL, 20, "maker Fortinet"},
    {F_MAKER, OP_PREFIX, "Juniper", INV_KIND_ROUTER, NULL, 20, "maker Juniper"},
    {F_MAKER, OP_PREFIX, "Cisco", INV_KIND_ROUTER, NULL, 10, "maker Cisco"},
    {F_MAKER, OP_PREFIX, "Raspberry Pi", INV_KIND_IOT, "Linux", 20, "maker Raspberry Pi"},
    {F_MAKER, OP_PREFIX, "Espressif", INV_KIND_IOT, NULL, 30, "maker Espressif (IoT modules)"},
    {F_MAKER, OP_PREFIX, "Sonos", INV_KIND_IOT, NULL, 30, "maker Sonos"},
    {F_MAKER, OP_PREFIX, "Nintendo", INV_KIND_IOT, NULL, 20, "maker Nintendo"},
    {F_MAKER, OP_PREFIX, "Amazon Technologies", INV_KIND_IOT, NULL, 20, "maker Amazon"},
    {F_MAKER, OP_PREFIX, "Apple", INV_KIND_MAC, "Apple", 5, "maker Apple"},
    /* a private (randomized) Wi-Fi address: what smartphones use */
    {F_RANDOM, OP_EXACT, "", INV_KIND_PHONE, NULL, 10, "randomized (private Wi-Fi) MAC"},
};

static const char *const kind_names[INV_KIND_COUNT] = {
    "unknown", "windows_pc", "mac", "linux_server", "phone", "printer",
    "nas", "camera", "router", "iot",
};

const char *inv_kind_name(unsigned kind)
{
    return kind < INV_KIND_COUNT ? kind_names[kind] : "unknown";
}

static bool match(enum rule_op op, const char *pat, const char *s)
{
    if (s == NULL || s[0] == '\0')
        return false;
    switch (op) {
    case OP_PREFIX:
        return strncasecmp(s, pat, strlen(pat)) == 0;
    case OP_EXACT:
        return strcasecmp(s, pat) == 0;
    case OP_CONTAINS:
        return strcasestr(s, pat) != NULL;
    }
    return false;
}

static bool rule_matches(const struct rule *r, const struct inv_device *d)
{
    switch (r->field) {
    case F_VENDOR:
        return match(r->op, r->pat, d->vendor_class);
    case F_DHCPFP:
        return match(r->op, r->pat, d->dhcp_fp);
    case F_NAME:
        return match(r->op, r->pat, d->name);
    case F_MODEL:
        return match(r->op, r->pat, d->model);
    case F_SSDP:
        return match(r->op, r->pat, d->ssdp_server);
    case F_MAKER:
        return match(r->op, r->pat, d->maker);
    case F_ROLE_DHCP:
        return d->dhcp_server;
    case F_ROLE_IGD:
        return d->igd;
    case F_RANDOM:
        return d->randomized;
    case F_UA:
        for (int i = 0; i < INV_SET_N; i++)
            if (match(r->op, r->pat, d->ua[i]))
                return true;
        return false;
    case F_SERVICE:
        for (int i = 0; i < INV_SVC_N; i++)
            if (match(r->op, r->pat, d->services[i]))
                return true;
        return false;
    case F_QUERY:
        for (int i = 0; i < INV_SVC_N; i++)
            if (match(r->op, r->pat, d->queries[i]))
                return true;
        return false;
    }
    return false;
}

/* The evidence: the rules that voted for the chosen kind. */
static void write_evidence(struct inv_device *d, const bool *hit, size_t nr, unsigned best)
{
    size_t n = 0;
    d->evidence[0] = '\0';
    for (size_t i = 0; i < nr && best != INV_KIND_UNKNOWN; i++) {
        if (!hit[i] || rules[i].kind != best)
            continue;
        int w = snprintf(d->evidence + n, sizeof(d->evidence) - n, "%s%s", n ? "; " : "",
                         rules[i].why);
        if (w < 0 || (size_t)w >= sizeof(d->evidence) - n) {
            d->evidence[n] = '\0';
            break;
        }
        n += (size_t)w;
    }
}

void inv_classify(struct inv_device *d)
{
    unsigned score[INV_KIND_COUNT] = {0};
    unsigned first[INV_KIND_COUNT];
    bool hit[sizeof(rules) / sizeof(rules[0])];
    const char *os = NULL;
    unsigned os_w = 0;
    size_t nr = sizeof(rules) / sizeof(rules[0]);
    for (unsigned k = 0; k < INV_KIND_COUNT; k++)
        first[k] = (unsigned)nr;
    for (size_t i = 0; i < nr; i++) {
        hit[i] = rule_matches(&rules[i], d);
        if (!hit[i])
            continue;
        score[rules[i].kind] += rules[i].weight;
        if (first[rules[i].kind] > i)
            first[rules[i].kind] = (unsigned)i;
        if (rules[i].os != NULL && rules[i].weight > os_w) {
            os = rules[i].os;
            os_w = rules[i].weight;
        }
    }
    unsigned best = INV_KIND_UNKNOWN;
    for (unsigned k = 1; k < INV_KIND_COUNT; k++)
        if (score[k] > score[best] || (score[k] == score[best] && score[k] > 0 &&
                                        first[k] < first[best]))
            best = k;
    d->kind = (uint8_t)best;
    d->kind_score = (uint8_t)(score[best] > 255 ? 255 : score[best]);
    snprintf(d->os, sizeof(d->os), "%s", os ? os : "");
    write_evidence(d, hit, nr, best);
}
