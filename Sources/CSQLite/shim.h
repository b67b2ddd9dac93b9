#include <sqlite3.h>

/* sqlite3_config is variadic, which Swift cannot call. Memory statistics cost a global mutex on
   every allocation SQLite makes (several per inserted row); nothing here reads them. Must run
   before SQLite initialises; later it returns SQLITE_MISUSE and changes nothing. */
static inline int tradesync_sqlite3_disable_memstatus(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
