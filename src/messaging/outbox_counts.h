// messaging/outbox_counts: how many outbox messages are in each state, for the operator's
// dashboard (failed deliveries) and the console's outbox page.
#pragma once

#include <array>
#include <cstdint>

#include "common/result.h"
#include "messaging/messenger.h"
#include "storage/database.h"

namespace station::messaging {

inline constexpr std::size_t kMessageStateCount = 5;
using MessageStateCounts = std::array<std::int64_t, kMessageStateCount>;  // by MessageState

// Every state, zero included: one grouped query over messages_state_idx.
Result<MessageStateCounts> count_messages_by_state(storage::Database& database);

}  // namespace station::messaging
