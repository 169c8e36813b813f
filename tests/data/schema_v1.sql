-- The iocd database as schema version 1 left it (the first version that
-- landed), with a little data; tests/integration/test_migration.py starts
-- iocd on it and checks the migration to the current version keeps it all.
PRAGMA user_version = 1;
CREATE TABLE series (  id INTEGER PRIMARY KEY,  name TEXT NOT NULL UNIQUE,  source TEXT NOT NULL,  device TEXT NOT NULL,  metric TEXT NOT NULL,  unit TEXT NOT NULL,  created_ms INTEGER NOT NULL);
CREATE TABLE windows (  series_id INTEGER NOT NULL,  res_s INTEGER NOT NULL,  start_ms INTEGER NOT NULL,  count INTEGER NOT NULL,  sum REAL NOT NULL,  sumsq REAL NOT NULL,  min REAL NOT NULL,  max REAL NOT NULL,  first REAL NOT NULL,  first_ms INTEGER NOT NULL,  last REAL NOT NULL,  last_ms INTEGER NOT NULL,  PRIMARY KEY (series_id, res_s, start_ms)) WITHOUT ROWID;
CREATE TABLE counters (  scope TEXT NOT NULL,  name TEXT NOT NULL,  value INTEGER NOT NULL,  updated_ms INTEGER NOT NULL,  PRIMARY KEY (scope, name)) WITHOUT ROWID;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
INSERT INTO series VALUES (1, 'air/GL-AQ01/pm25', 'air', 'GL-AQ01', 'pm25', 'ug/m3', 1795305600000);
-- 2026-11-20T10:00:00Z: two samples 10.5 and 12.25
INSERT INTO windows VALUES (1, 60, 1795168800000, 2, 22.75, 260.3125, 10.5, 12.25, 10.5, 1795168805000, 12.25, 1795168830000);
INSERT INTO windows VALUES (1, 3600, 1795168800000, 2, 22.75, 260.3125, 10.5, 12.25, 10.5, 1795168805000, 12.25, 1795168830000);
INSERT INTO windows VALUES (1, 86400, 1795132800000, 2, 22.75, 260.3125, 10.5, 12.25, 10.5, 1795168805000, 12.25, 1795168830000);
INSERT INTO counters VALUES ('air', 'messages', 2, 1795305600000);
INSERT INTO counters VALUES ('air', 'accepted', 2, 1795305600000);
INSERT INTO counters VALUES ('air', 'observations', 2, 1795305600000);
INSERT INTO meta VALUES ('iocd_version', '0.1.0');
