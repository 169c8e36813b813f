/* daemon/store/schema.h — the SQLite backend's schema and its migrations.
 *
 * Owns: the list of schema steps (one per IOCD_SCHEMA_VERSION, never edited
 * once shipped) and the code that brings a database to the current one.
 * Private to daemon/store/ (sqlite.c); the tables are documented in
 * docs/storage.md. */
#ifndef IOCD_STORE_SCHEMA_H
#define IOCD_STORE_SCHEMA_H

#include <sqlite3.h>

#include "daemon/base/error.h"

/* Run `sql` on `db`; -1 with err ("WHAT: sqlite's message") when it fails. */
int iocd_schema_exec(sqlite3 *db, const char *sql, struct iocd_error *err, const char *what);

/* Bring `db` to IOCD_SCHEMA_VERSION (store.h), one transaction a step.
 * -1 with err when a step fails (that step is rolled back) or when the
 * database was written by a newer iocd. */
/* Before migrating a database of an older version (not a new one), a
 * copy of it is written to `backup_path` with VACUUM INTO (NULL: none);
 * when that copy cannot be made nothing is migrated (-1 with err). */
int iocd_schema_migrate(sqlite3 *db, const char *backup_path, struct iocd_error *err);

#endif
