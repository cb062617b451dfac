// storage/sqlite_database: the SQLite engine, the zero-set-up default.
//
// Each connection runs in WAL mode with synchronous=FULL (a commit that returned is on disk),
// foreign keys on and a busy timeout for locks held by other processes. begin() is
// BEGIN IMMEDIATE, so a writer takes the write lock up front and never deadlocks on upgrade.
// lock_exclusive() is flock() on "<database file>.lock".
#pragma once

#include <memory>
#include <string_view>

#include "storage/database.h"

namespace station::storage {

// `path` is the file name after "sqlite:"; its parent directory is created when missing.
Result<std::unique_ptr<Database>> open_sqlite_database(std::string_view path,
                                                       const DatabaseOptions& options);

}  // namespace station::storage
