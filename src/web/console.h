// web/console: the operator console, served by `station serve` under "/console": staff sign in
// with a user name and password (auth/staff.h), then see the dashboard (top-ups today, orders by
// state, the profile pool by state, failed deliveries), search customers and open one (wallet,
// transactions, orders, identity, audit trail), review identities (KYC), edit plans, import
// profile files into the pool and read the outbox. Built on the portal's machinery (web/site.h):
// templates, catalogues, sessions with CSRF tokens, and the same security headers.
//
// Separate from the portal: its own session cookie (`station_console`), sessions of kind
// `operator` only, its own layout. A subscriber's session never opens a console page.
//
// Roles: a staff user's role is the API key scope of that name, and each page needs one
// permission of auth/api_keys.h (see docs/console.md for the table). A page the role may not
// open answers 403 with no data of the page; the navigation offers only the pages the role may
// open. Every change (a review decision, a plan, an import, signing in and out) is in the audit
// log with the staff user ("staff:<name>") as the actor.
#pragma once

#include <memory>

#include "auth/audit.h"
#include "auth/staff.h"
#include "billing/billing.h"
#include "catalogue/plans.h"
#include "common/clock.h"
#include "common/id.h"
#include "http/router.h"
#include "inventory/inventory.h"
#include "kyc/identities.h"
#include "messaging/messenger.h"
#include "orders/orders.h"
#include "storage/database.h"
#include "web/sessions.h"

namespace station::web {

struct ConsoleDependencies {
  storage::Database& database;
  billing::Billing& billing;
  orders::Orders& orders;
  catalogue::Plans& plans;
  kyc::Identities& identities;
  inventory::Inventory& inventory;
  messaging::Messenger& messenger;
  auth::AuditWriter& audit;
  IdGenerator& ids;
  const Clock& clock;
};

struct ConsoleOptions {
  // Served behind TLS: cookies get Secure and answers carry HSTS.
  bool secure_transport = false;
  auth::StaffSettings staff;
  SessionSettings sessions{2 * 3600 * 1000, 8 * 3600 * 1000};  // a working day signed in
};

class Console {
 public:
  // kInternal when an embedded template or catalogue is broken.
  static Result<std::unique_ptr<Console>> create(ConsoleDependencies dependencies,
                                                 ConsoleOptions options);
  ~Console();

  // Registers the console's routes under "/console". The console must outlive the router's use.
  void add_routes(http::Router& router);

  struct Impl;

 private:
  explicit Console(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace station::web
