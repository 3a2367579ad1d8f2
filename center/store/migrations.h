/*
 * Versioned schema migrations of the SQLite store. Migration N turns a database of
 * schema version N-1 into version N; schema_version holds one row per applied one.
 */
#ifndef OTASUKE_CENTER_MIGRATIONS_H
#define OTASUKE_CENTER_MIGRATIONS_H

#include "store/db.h"
#include <stddef.h>

/* Applies every migration newer than the database's version, each in its own
 * BEGIN IMMEDIATE transaction (so two processes starting at once apply each one
 * once). Refuses a database newer than this program. Returns 0 or a negative
 * ERR_* with a message in err. */
int migrations_run(struct db *db, char *err, size_t errlen);
/* The database's schema version (0 for a new file, -1 on error). */
int migrations_current(struct db *db);
/* The newest version this program knows. */
int migrations_latest(void);
/* The SQL text of migration `version` (1-based), or NULL (tests build old schemas). */
const char *migrations_sql(int version);
/* The same for either backend. */
const char *migrations_sql_for(enum db_kind kind, int version);

#endif
