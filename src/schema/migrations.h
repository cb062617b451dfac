// schema: the database schema of every domain, as one ordered list of migrations.
//
// One list, because versions must be totally ordered across domains. Each migration is portable
// SQL (see storage/database.h). Migrations are append-only: a released migration never changes;
// a fix is a new migration.
#pragma once

#include <span>

#include "storage/database.h"

namespace station::schema {

std::span<const storage::Migration> all_migrations();

}  // namespace station::schema
