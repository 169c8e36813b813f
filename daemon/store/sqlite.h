/* daemon/store/sqlite.h — the SQLite backend of the store interface.
 *
 * Owns: nothing here but the backend's table; each handle it opens owns
 * one write connection and its prepared statements (see sqlite.c). Pass
 * &iocd_store_sqlite to iocd_store_open. */
#ifndef IOCD_STORE_SQLITE_H
#define IOCD_STORE_SQLITE_H

#include "daemon/store/store.h"

extern const struct iocd_store_backend iocd_store_sqlite;

#endif
