#ifndef SSYNC_SCHEMA_INT_H
#define SSYNC_SCHEMA_INT_H

/* One numbered schema file, embedded at build time (cmake/embed_schema.cmake). */
typedef struct ssync_schema_file {
	int version;      /* the NNN prefix of the file name */
	const char *name; /* e.g. "001_core.sql" */
	const char *sql;  /* NUL-terminated contents */
} ssync_schema_file;

/* The table that records applied schema files (created before them). */
#define SSYNC_SCHEMA_TABLE_SQL "CREATE TABLE IF NOT EXISTS ssync_schema(" \
	"version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"

/* Sorted by version, terminated by {0, NULL, NULL}. */
extern const ssync_schema_file ssync__schema_files[];

#endif
