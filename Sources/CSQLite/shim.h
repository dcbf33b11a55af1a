#ifndef BILLSYNC_CSQLITE_SHIM_H
#define BILLSYNC_CSQLITE_SHIM_H
#include <sqlite3.h>
#endif
