#include "report.h"

#include <stdlib.h>

/* Execute every statement in an SQL file. */
int load_sql_file(sqlite3 *db, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *sql = malloc((size_t)n + 1);
    if (!sql || fread(sql, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(sql);
        return -1;
    }
    sql[n] = '\0';
    fclose(f);

    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    free(sql);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", path, err);
        sqlite3_free(err);
        return -1;
    }
    return 0;
}

static const char *REPORT_SQL =
    "SELECT host, COUNT(*), SUM(status >= 500), ROUND(AVG(latency_ms), 1), MAX(latency_ms) "
    "FROM requests GROUP BY host ORDER BY host";

int print_report(sqlite3 *db, FILE *out)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, REPORT_SQL, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "prepare: %s\n", sqlite3_errmsg(db));
        return -1;
    }
    fprintf(out, "%-12s %6s %6s %8s %6s\n", "host", "reqs", "5xx", "avg_ms", "max_ms");
    while (sqlite3_step(st) == SQLITE_ROW) {
        fprintf(out, "%-12s %6d %6d %8.1f %6d\n",
                (const char *)sqlite3_column_text(st, 0), sqlite3_column_int(st, 1),
                sqlite3_column_int(st, 2), sqlite3_column_double(st, 3), sqlite3_column_int(st, 4));
    }
    sqlite3_finalize(st);
    return 0;
}
