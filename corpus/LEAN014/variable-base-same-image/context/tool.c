#include <sqlite3.h>
int main(void) { return 0; }
