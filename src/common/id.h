// common/id: time-ordered 64-bit identifiers, and their public text form.
//
// Ids are made by the application, not the database, so that a client-visible id exists before
// the write and the same code serves SQLite and PostgreSQL. Layout: 41 bits of milliseconds since
// 2020-01-01 UTC, then 22 bits of sequence. Sorting by id sorts by creation time, which is what
// newest-first cursor pagination needs. The generator never goes backwards, even when the clock
// does: it is seeded with the largest id already stored.
//
// Public form: "<prefix>_<13 Crockford base32 digits>", e.g. "cus_01HZX3K4M5N6P". The prefix
// names the kind of object, so an id of one kind is never accepted where another is meant.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace station {

using Id = std::int64_t;

class IdGenerator {
 public:
  explicit IdGenerator(const Clock& clock) : clock_(clock) {}

  // Ensures every later id is greater than `id` (used at start-up with the largest stored id).
  void observe(Id id);
  Id next();

 private:
  const Clock& clock_;
  std::mutex mutex_;
  Id last_ = 0;  // GUARDED_BY(mutex_)
};

// The smallest id made at or after `unix_ms` (ids made then are at least this, whatever the
// sequence), so `id >= first_id_at(t)` selects by creation time through the primary key.
Id first_id_at(std::int64_t unix_ms);

std::string format_public_id(std::string_view prefix, Id id);
// Returns the id when `text` is `<prefix>_` followed by exactly 13 base32 digits.
std::optional<Id> parse_public_id(std::string_view prefix, std::string_view text);

}  // namespace station
