// web/portal: the subscriber self-care portal, served by `station serve` under "/": sign-up and
// sign-in with a one-time code by SMS or email, the device check, plans, ordering an eSIM
// (identity, payment by wallet or card, then the activation code with its QR code and install
// steps), my eSIMs, balance and top-up, transaction history with filters and CSV export, monthly
// statements, and settings. Pages are HTML rendered here (web/site.h); handlers read and check
// the form, then call the domains that decide (billing, orders, kyc, devices, catalogue).
//
// A customer sees only their own data: any order id of another customer answers 404, exactly
// like an id that does not exist. Every POST carries the session's CSRF token.
#pragma once

#include <memory>

#include "billing/billing.h"
#include "catalogue/plans.h"
#include "common/clock.h"
#include "common/id.h"
#include "common/limits.h"
#include "devices/catalogue.h"
#include "http/router.h"
#include "kyc/identities.h"
#include "messaging/messenger.h"
#include "orders/orders.h"
#include "storage/database.h"
#include "web/sessions.h"
#include "web/sign_in_codes.h"

namespace station::web {

struct PortalDependencies {
  storage::Database& database;
  billing::Billing& billing;
  orders::Orders& orders;
  catalogue::Plans& plans;
  kyc::Identities& identities;
  devices::DeviceCatalogue& devices;
  messaging::Messenger& messenger;
  IdGenerator& ids;
  const Clock& clock;
};

struct PortalOptions {
  // Served behind TLS: cookies get Secure and answers carry HSTS.
  bool secure_transport = false;
  // The card processor is the built-in test provider: the payment step offers its test cards.
  bool test_card_tokens = true;
  // Mirrors orders::OrderSettings: ordering asks for the identity step first.
  bool require_verified_identity = true;
  CodeSettings codes;
  SessionSettings sessions;
  // How often the sweeper deletes expired sessions and spent sign-in codes (web/sweeper.h);
  // 0: never (tests that sweep by hand).
  std::uint32_t sweep_interval_ms = limits::kWebSweepIntervalMs;
};

class Portal {
 public:
  // kInternal when an embedded template or catalogue is broken.
  static Result<std::unique_ptr<Portal>> create(PortalDependencies dependencies,
                                                PortalOptions options);
  ~Portal();

  // Registers the portal's routes ("/", "/signin", "/esims/{id}", "/static/{file}", ...).
  // The portal must outlive the router's use.
  void add_routes(http::Router& router);

  struct Impl;

 private:
  explicit Portal(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace station::web
