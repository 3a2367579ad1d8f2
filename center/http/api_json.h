/*
 * Small helpers of the API endpoints (api_tokens.c, api_tenants.c, api_people.c,
 * api_incident.c): request bodies as JSON objects, their members, optional times and
 * listings in answers.
 */
#ifndef OTASUKE_CENTER_API_JSON_H
#define OTASUKE_CENTER_API_JSON_H

#include "http/server_int.h"

#include <jansson.h>

/* The body as a JSON object (duplicate keys refused), or NULL. */
json_t *apij_body(const struct req *r);
/* 1 when obj has no member outside keys (NULL-terminated). */
int apij_only(json_t *obj, const char *const *keys);
/* 1 when obj has member key, and it is not a string of 1..max bytes of UTF-8 without
 * control characters (jansson checked UTF-8): the member is wrong. */
int apij_bad_text(json_t *obj, const char *key, size_t max);
/* key: RFC 3339 of us, or null when us is 0. */
void apij_time(struct jw *w, const char *key, int64_t us);
/* company_id: the id, or null for 0. */
void apij_company(struct jw *w, int64_t company_id);
/* A ?name= query argument that is a positive id: 0 absent, 1 with *id, -1 malformed. */
int apij_id_arg(struct MHD_Connection *c, const char *name, int64_t *id);
/* Answers a listing {"key": [...]}: fill writes the rows with a pooled store (non-zero:
 * a store error, answered as such); tail, when not NULL, adds members after the array
 * (paging). Both get arg. */
enum MHD_Result apij_send_list(struct server *s, struct MHD_Connection *c, const char *key,
                               int (*fill)(struct store *st, struct jw *w, void *arg),
                               void *arg, void (*tail)(struct jw *w, void *arg));

#endif
