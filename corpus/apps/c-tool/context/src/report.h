#ifndef SQLSTAT_REPORT_H
#define SQLSTAT_REPORT_H

#include <sqlite3.h>
#include <stdio.h>

int load_sql_file(sqlite3 *db, const char *path);
int print_report(sqlite3 *db, FILE *out);

#endif
