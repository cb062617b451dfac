// storage/statement_cache: a bounded map from SQL text to an engine's prepared statement, which
// evicts the least recently used entry when full. One per connection; not thread-safe.
#pragma once

#include <cassert>
#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace station::storage::internal {

template <typename Statement>
class StatementCache {
 public:
  explicit StatementCache(std::size_t capacity) : capacity_(capacity) { assert(capacity_ > 0); }
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;

  // The statement cached for `sql`, now the most recently used; nullptr when absent.
  Statement* find(std::string_view sql) {
    auto found = index_.find(sql);
    if (found == index_.end()) return nullptr;
    entries_.splice(entries_.begin(), entries_, found->second);
    return &found->second->statement;
  }

  // When full, removes the least recently used statement and returns it for the caller to
  // release. Call before insert().
  std::optional<Statement> evict_if_full() {
    if (entries_.size() < capacity_) return std::nullopt;
    Entry& oldest = entries_.back();
    index_.erase(std::string_view(oldest.sql));
    Statement statement = std::move(oldest.statement);
    entries_.pop_back();
    return statement;
  }

  // REQUIRES: `sql` is not cached and the cache is not full.
  Statement& insert(std::string_view sql, Statement statement) {
    assert(entries_.size() < capacity_);
    entries_.push_front(Entry{std::string(sql), std::move(statement)});
    // The key views the string inside the list node, which never moves.
    [[maybe_unused]] const bool inserted =
        index_.emplace(std::string_view(entries_.front().sql), entries_.begin()).second;
    assert(inserted);
    return entries_.front().statement;
  }

  // Removes every statement, passing each to `release`.
  template <typename Release>
  void clear(Release&& release) {
    for (Entry& entry : entries_) release(std::move(entry.statement));
    index_.clear();
    entries_.clear();
  }

  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string sql;
    Statement statement;
  };

  const std::size_t capacity_;
  std::list<Entry> entries_;  // most recently used first
  std::unordered_map<std::string_view, typename std::list<Entry>::iterator> index_;
};

}  // namespace station::storage::internal
