/* daemon/store/schema.c — the SQLite backend's schema steps and migration
 * (see schema.h and docs/storage.md).
 *
 * Owns: the migrations table; nothing allocated outlives a call. */
#include "daemon/store/schema.h"

#include <stdio.h>

#include "daemon/base/log.h"
#include "daemon/store/store.h"

/* migrations[v-1] takes a database from version v-1 to v. Never edit a
 * step that has shipped; add a new one. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE series ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  source TEXT NOT NULL,"
    "  device TEXT NOT NULL,"
    "  metric TEXT NOT NULL,"
    "  unit TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE windows ("
    "  series_id INTEGER NOT NULL,"
    "  res_s INTEGER NOT NULL,"
    "  start_ms INTEGER NOT NULL,"
    "  count INTEGER NOT NULL,"
    "  sum REAL NOT NULL,"
    "  sumsq REAL NOT NULL,"
    "  min REAL NOT NULL,"
    "  max REAL NOT NULL,"
    "  first REAL NOT NULL,"
    "  first_ms INTEGER NOT NULL,"
    "  last REAL NOT NULL,"
    "  last_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (series_id, res_s, start_ms)) WITHOUT ROWID;"
    "CREATE TABLE counters ("
    "  scope TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  value INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (scope, name)) WITHOUT ROWID;"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;",
    /* 1 -> 2: discrete events (citizen reports, alarms, violations, ...) */
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY,"
    "  source TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  severity INTEGER NOT NULL,"
    "  text TEXT NOT NULL,"
    "  device TEXT NOT NULL,"
    "  area TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  time_ms INTEGER NOT NULL,"
    "  received_ms INTEGER NOT NULL,"
    "  lat REAL,"
    "  lon REAL,"
    "  attributes TEXT NOT NULL);"
    "CREATE INDEX events_by_time ON events(time_ms);"
    "CREATE INDEX events_by_kind ON events(source, kind, time_ms);"
    /* retention prunes the oldest windows of a resolution */
    "CREATE INDEX windows_by_age ON windows(res_s, start_ms);"
    /* the journal entry each stored window is complete up to */
    "ALTER TABLE windows ADD COLUMN jrnl INTEGER NOT NULL DEFAULT 0;"
    /* quantile sketch of the window (docs/sketch.md); NULL before v2 */
    "ALTER TABLE windows ADD COLUMN sketch BLOB;"
    /* every flush's accepted samples: crash replay and raw drill-down */
    "CREATE TABLE journal ("
    "  id INTEGER PRIMARY KEY,"
    "  flushed_ms INTEGER NOT NULL,"
    "  first_ms INTEGER NOT NULL,"
    "  last_ms INTEGER NOT NULL,"
    "  n INTEGER NOT NULL,"
    "  samples BLOB NOT NULL);",
    /* 2 -> 3: the device table, so device status survives a restart */
    "CREATE TABLE devices ("
    "  source TEXT NOT NULL,"
    "  device TEXT NOT NULL,"
    "  first_seen_ms INTEGER NOT NULL,"
    "  last_seen_ms INTEGER NOT NULL,"
    "  interval_ms INTEGER NOT NULL,"
    "  messages INTEGER NOT NULL,"
    "  state TEXT NOT NULL,"
    "  PRIMARY KEY (source, device)) WITHOUT ROWID;",
    /* 3 -> 4: the case an event updates (a citizen report's id); the index
     * finds the open cases at start */
    ("ALTER TABLE events ADD COLUMN case_id TEXT NOT NULL DEFAULT '';"
     "CREATE INDEX events_by_case ON events(source, case_id, time_ms) WHERE case_id != '';"),
    /* 4 -> 5: each device's last reported position (NULL: none), so it
     * survives a restart (docs/registry.md) */
    ("ALTER TABLE devices ADD COLUMN lat REAL;"
     "ALTER TABLE devices ADD COLUMN lon REAL;"
     "ALTER TABLE devices ADD COLUMN position_ms INTEGER;"),
    /* 5 -> 6: state series (docs/states.md): per window and state the time
     * in it, its samples and the transitions into it; and each state
     * series' known states, latest state and how far its time is counted */
    ("CREATE TABLE state_windows ("
     "  series_id INTEGER NOT NULL,"
     "  res_s INTEGER NOT NULL,"
     "  start_ms INTEGER NOT NULL,"
     "  state TEXT NOT NULL,"
     "  ms INTEGER NOT NULL,"
     "  entries INTEGER NOT NULL,"
     "  transitions INTEGER NOT NULL,"
     "  PRIMARY KEY (series_id, res_s, start_ms, state)) WITHOUT ROWID;"
     "CREATE INDEX state_windows_by_age ON state_windows(res_s, start_ms);"
     "CREATE TABLE state_series ("
     "  series_id INTEGER PRIMARY KEY,"
     "  names TEXT NOT NULL,"
     "  state TEXT NOT NULL,"
     "  last_ms INTEGER NOT NULL,"
     "  carried_ms INTEGER NOT NULL);"),
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == IOCD_SCHEMA_VERSION,
               "one migration per schema version");

int iocd_schema_exec(sqlite3 *db, const char *sql, struct iocd_error *err, const char *what)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        iocd_error_set(err, "%s: %s", what, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

int iocd_schema_migrate(sqlite3 *db, const char *backup_path, struct iocd_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return iocd_error_set(err, "reading schema version: %s", sqlite3_errmsg(db));
    int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    if (version < 0)
        return iocd_error_set(err, "reading schema version: %s", sqlite3_errmsg(db));
    if (version > IOCD_SCHEMA_VERSION)
        return iocd_error_set(err,
                              "database schema version %d is newer than this iocd knows (%d); "
                              "it was written by a newer iocd",
                              version, IOCD_SCHEMA_VERSION);
    if (version > 0 && version < IOCD_SCHEMA_VERSION && backup_path) {
        /* An upgrade: keep the old database as it was, so a downgrade or a
         * failed migration can go back to it (docs/backup.md). */
        char *sql = sqlite3_mprintf("VACUUM INTO %Q", backup_path);
        int rc = sql ? sqlite3_exec(db, sql, NULL, NULL, NULL) : SQLITE_NOMEM;
        sqlite3_free(sql);
        if (rc != SQLITE_OK)
            return iocd_error_set(err,
                                  "copying the version %d database to %s before migrating: %s; "
                                  "nothing was migrated",
                                  version, backup_path, sqlite3_errmsg(db));
        iocd_log_notice("store", "schema version %d: copied to %s before migrating", version,
                        backup_path);
    }
    for (int v = version + 1; v <= IOCD_SCHEMA_VERSION; v++) {
        char what[64], bump[64];
        snprintf(what, sizeof(what), "migrating schema to version %d", v);
        snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", v);
        if (iocd_schema_exec(db, "BEGIN IMMEDIATE", err, what))
            return -1;
        if (iocd_schema_exec(db, migrations[v - 1], err, what) || iocd_schema_exec(db, bump, err, what) ||
            iocd_schema_exec(db, "COMMIT", err, what)) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
        if (version > 0)
            iocd_log_notice("store", "database migrated to schema version %d", v);
    }
    return 0;
}
