// The dashboard's count of orders by state: one grouped query over orders_state_idx.
#include <fmt/format.h>

#include "orders/orders.h"

namespace station::orders {

static_assert(static_cast<std::size_t>(OrderState::kFailed) + 1 == kOrderStateCount);

Result<OrderStateCounts> count_orders_by_state(storage::Database& database) {
  STATION_ASSIGN_OR_RETURN(auto connection, database.acquire());
  STATION_ASSIGN_OR_RETURN(auto rows,
                           connection->query("SELECT state, COUNT(*) FROM orders GROUP BY state"));
  OrderStateCounts counts{};
  for (const auto& row : rows) {
    auto state = parse_order_state(row.text_at(0));
    if (!state) {
      return Status(ErrorCode::kInternal, fmt::format("an order is in state '{}'", row.text_at(0)));
    }
    counts[static_cast<std::size_t>(*state)] = row.int_at(1);
  }
  return counts;
}

}  // namespace station::orders
