// `station admin kyc list|approve|reject`: the identity verification queue from the command
// line. Reviewing opens no secret, so no key file is needed.
#include <unistd.h>

#include <cstdlib>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "common/clock.h"
#include "common/id.h"
#include "kyc/identities.h"

namespace station::cli {
namespace {

struct KycFlags {
  StoreFlags store;
  std::string state = "pending";
  std::uint32_t limit = 50;
  std::string customer;
  std::string reason;
};

kyc::Actor kyc_actor() { return kyc::Actor{cli_actor(), ""}; }

// One identity a line, tab-separated: customer id, state, submitted at, document type, last 4
// characters of the document number, nationality, date of birth, full name, rejection reason
// ("-" when none).
void print_identity(const kyc::Identity& identity) {
  fmt::print("{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n", format_public_id("cus", identity.customer_id),
             kyc::identity_state_name(identity.state), format_rfc3339_ms(identity.submitted_at_ms),
             kyc::document_type_name(identity.document_type), identity.document_last4,
             identity.nationality, identity.date_of_birth, identity.full_name,
             identity.rejection_reason.empty() ? "-" : identity.rejection_reason);
}

// Runs `action` on an Identities over the store (no keys: reviewing hashes nothing).
template <typename Action>
int with_identities(const StoreFlags& store, Action action) {
  auto database = open_store(store);
  if (!database.is_ok()) return fail(database.status());
  SystemClock clock;
  IdGenerator ids(clock);
  const secrets::Keyring no_keys;
  kyc::Identities identities(**database, no_keys, ids, clock);
  return action(identities);
}

int run_list(const KycFlags& flags) {
  std::optional<kyc::IdentityState> state;
  if (flags.state != "all") {
    state = kyc::parse_identity_state(flags.state);
    if (!state) {
      return fail(Status(ErrorCode::kValidationFailed,
                         "--state must be pending, verified, rejected or all"));
    }
  }
  return with_identities(flags.store, [&](kyc::Identities& identities) {
    auto listed = identities.list(state, flags.limit);
    if (!listed.is_ok()) return fail(listed.status());
    for (const auto& identity : *listed) print_identity(identity);
    return 0;
  });
}

int run_decide(const KycFlags& flags, bool approve) {
  auto customer = parse_public_id("cus", flags.customer);
  if (!customer) {
    return fail(Status(ErrorCode::kValidationFailed,
                       fmt::format("'{}' is not a customer id (cus_...)", flags.customer)));
  }
  return with_identities(flags.store, [&](kyc::Identities& identities) {
    auto decided = approve ? identities.approve(*customer, kyc_actor())
                           : identities.reject(*customer, flags.reason, kyc_actor());
    if (!decided.is_ok()) return fail(decided.status());
    print_identity(*decided);
    return 0;
  });
}

}  // namespace

void add_kyc_commands(CLI::App& admin, int* exit_code) {
  auto* kyc_command = admin.add_subcommand("kyc", "Identity verification of customers");
  kyc_command->require_subcommand(1);
  constexpr const char* kOutput =
      "customer id, state, submitted at, document type, document last 4, nationality, date of "
      "birth, full name, rejection reason (tabs)";

  auto list_flags = std::make_shared<KycFlags>();
  auto* list = kyc_command->add_subcommand(
      "list", fmt::format("Identities oldest first, one a line: {}", kOutput));
  add_store_flags(*list, list_flags->store);
  list->add_option("--state", list_flags->state, "pending, verified, rejected or all")
      ->capture_default_str();
  list->add_option("--limit", list_flags->limit, "How many")
      ->check(CLI::Range(1U, static_cast<unsigned>(kyc::kIdentitiesListedMax)))
      ->capture_default_str();
  list->callback([=] { *exit_code = run_list(*list_flags); });

  auto approve_flags = std::make_shared<KycFlags>();
  auto* approve = kyc_command->add_subcommand(
      "approve", fmt::format("Verify a pending identity; prints it: {}", kOutput));
  add_store_flags(*approve, approve_flags->store);
  approve->add_option("customer", approve_flags->customer, "The customer id (cus_...)")
      ->required();
  approve->callback([=] { *exit_code = run_decide(*approve_flags, true); });

  auto reject_flags = std::make_shared<KycFlags>();
  auto* reject = kyc_command->add_subcommand(
      "reject", fmt::format("Reject a pending identity; prints it: {}", kOutput));
  add_store_flags(*reject, reject_flags->store);
  reject->add_option("customer", reject_flags->customer, "The customer id (cus_...)")
      ->required();
  reject->add_option("--reason", reject_flags->reason, "Why, as the customer will read it")
      ->required();
  reject->callback([=] { *exit_code = run_decide(*reject_flags, false); });
}

}  // namespace station::cli
