#include "messaging/outbox_counts.h"

#include <fmt/format.h>

namespace station::messaging {

static_assert(static_cast<std::size_t>(MessageState::kUndeliverable) + 1 == kMessageStateCount);

Result<MessageStateCounts> count_messages_by_state(storage::Database& database) {
  STATION_ASSIGN_OR_RETURN(auto connection, database.acquire());
  STATION_ASSIGN_OR_RETURN(
      auto rows, connection->query("SELECT state, COUNT(*) FROM messages GROUP BY state"));
  MessageStateCounts counts{};
  for (const auto& row : rows) {
    auto state = parse_message_state(row.text_at(0));
    if (!state) {
      return Status(ErrorCode::kInternal,
                    fmt::format("an outbox message is in state '{}'", row.text_at(0)));
    }
    counts[static_cast<std::size_t>(*state)] = row.int_at(1);
  }
  return counts;
}

}  // namespace station::messaging
