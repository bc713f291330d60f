/* sqlstat: summarise HTTP access records stored in SQLite. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define SQLSTAT_VERSION "1.3.1"
#ifndef SQLSTAT_DATADIR
#define SQLSTAT_DATADIR "sql"
#endif

static void usage(FILE *out)
{
    fprintf(out, "usage: sqlstat [--version | --selftest | --report DB]\n");
}

static const char *datadir(void)
{
    const char *d = getenv("SQLSTAT_DATADIR");
    return d && *d ? d : SQLSTAT_DATADIR;
}

static int open_with_schema(const char *file, sqlite3 **db, int seed)
{
    char path[4096];
    if (sqlite3_open(file, db) != SQLITE_OK) {
        fprintf(stderr, "open %s: %s\n", file, sqlite3_errmsg(*db));
        return -1;
    }
    snprintf(path, sizeof path, "%s/schema.sql", datadir());
    if (load_sql_file(*db, path) != 0)
        return -1;
    if (seed) {
        snprintf(path, sizeof path, "%s/seed.sql", datadir());
        if (load_sql_file(*db, path) != 0)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    sqlite3 *db = NULL;
    int rc;

    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("sqlstat %s (sqlite %s)\n", SQLSTAT_VERSION, sqlite3_libversion());
        return 0;
    }
    if (strcmp(argv[1], "--selftest") == 0) {
        printf("sqlstat %s (sqlite %s)\n", SQLSTAT_VERSION, sqlite3_libversion());
        rc = open_with_schema(":memory:", &db, 1) == 0 && print_report(db, stdout) == 0 ? 0 : 1;
        sqlite3_close(db);
        return rc;
    }
    if (strcmp(argv[1], "--report") == 0 && argc == 3) {
        rc = open_with_schema(argv[2], &db, 0) == 0 && print_report(db, stdout) == 0 ? 0 : 1;
        sqlite3_close(db);
        return rc;
    }
    usage(stderr);
    return 2;
}
