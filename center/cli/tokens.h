/*
 * otasuke token create|list|revoke: people's API tokens from the operators' command
 * line (the database directly, like the rest of the CLI). The secret is printed once
 * and stored only as its SHA-256 digest; each create and revoke writes an audit row
 * with the actor "cli:<login>".
 */
#ifndef OTASUKE_CENTER_CLI_TOKENS_H
#define OTASUKE_CENTER_CLI_TOKENS_H

#include "store/store.h"

#include <stdint.h>

struct cli_token_args {
    const char *user;  /* --user: the owner's name */
    const char *name;  /* --name: the token's name */
    const char *scope; /* --scope read|full (default read) */
    const char *ttl;   /* --ttl: a duration, NULL: never expires */
    int64_t company;   /* --company: list only that tenant's people's tokens */
    int64_t id;        /* --id: the token (revoke) */
};

/* Returns the exit status (0, 1 error, 2 usage). */
int cli_token(struct store *st, const char *verb, const struct cli_token_args *a);

#endif
