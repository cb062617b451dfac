// api/orders: ordering an eSIM over HTTP — create, read, list a customer's, cancel, the
// activation code's QR image — and the payment provider's webhook, which authenticates by signature, not API key.
#pragma once

#include "auth/api_keys.h"
#include "auth/audit.h"
#include "billing/billing.h"
#include "http/router.h"
#include "metrics/registry.h"
#include "orders/orders.h"

namespace station::api {

struct OrderRoutesContext {
  auth::Authenticator& authenticator;
  billing::Billing& billing;
  auth::AuditWriter& audit;
  orders::Orders& orders;
  orders::PaymentProvider& payments;
  IdGenerator& ids;
  const Clock& clock;
  // station_orders_total{outcome} (created orders by their answer: "succeeded" or the error
  // code) and station_payment_webhooks_total{outcome} (deliveries by their answer).
  metrics::Registry& metrics;
};

// The context must outlive the router's use.
void add_order_routes(http::Router& router, OrderRoutesContext& context);

}  // namespace station::api
