/* daemon/base/schema.h — the version of the database schema this build
 * writes (docs/storage.md), for the writer (daemon/store) and the readers
 * (daemon/query, tools/iocctl) alike.
 *
 * Owns: the number; the migrations are daemon/store/schema.c's. */
#ifndef IOCD_SCHEMA_H
#define IOCD_SCHEMA_H

#define IOCD_SCHEMA_VERSION 6

#endif
