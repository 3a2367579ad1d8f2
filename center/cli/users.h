/*
 * The people commands of the operators' CLI (otasuke user …, otasuke audit list),
 * kept apart from cli/otasuke.c. They work on the database file directly, like the
 * rest of the CLI, and write one audit row per change with the actor "cli:<login>".
 */
#ifndef OTASUKE_CENTER_CLI_USERS_H
#define OTASUKE_CENTER_CLI_USERS_H

#include "store/store.h"

#include <stdint.h>

struct cli_user_args {
    const char *name;          /* --name */
    const char *role;          /* --role */
    const char *password_file; /* --password-file; NULL: the first line of stdin */
    int64_t company;           /* --company, 0: none */
    int64_t id;                /* --id, 0: none */
    int64_t limit;             /* --limit, 0: default */
};

/* otasuke user add|list|disable|enable|passwd|role. Returns the exit status (0, 1 error,
 * 2 usage). */
int cli_user(struct store *st, const char *verb, const struct cli_user_args *a);
/* otasuke audit list. */
int cli_audit(struct store *st, const char *verb, const struct cli_user_args *a);

#endif
