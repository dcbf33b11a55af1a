#ifndef BILLSYNC_CSQLITE_SHIM_H
#define BILLSYNC_CSQLITE_SHIM_H
#include <sqlite3.h>

/* sqlite3_config is variadic, which Swift cannot call: one wrapper per use. */
static inline int bs_sqlite3_disable_memstatus(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
#endif
