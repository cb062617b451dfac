// `station admin outbox list`: the outbox (SMS and email) from the command line, for operators
// running without an SMSC or mail server (messages stay queued there) or checking delivery states.
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cli/commands.h"
#include "common/clock.h"
#include "common/id.h"
#include "common/limits.h"
#include "messaging/messenger.h"

namespace station::cli {
namespace {

struct OutboxFlags {
  StoreFlags store;
  std::uint32_t limit = limits::kPageSizeDefault;
};

// One line per message, so the listing stays one row per line: an email's subject comes first,
// and line breaks are written as "\n".
std::string text_on_one_line(const messaging::OutboxMessage& message) {
  std::string whole = message.channel == messaging::Channel::kEmail
                          ? message.subject + "\n" + message.text
                          : message.text;
  std::string out;
  for (char c : whole) {
    if (c == '\n') {
      out += "\\n";
    } else if (c != '\r') {
      out += c;
    }
  }
  return out;
}

int run_list(const OutboxFlags& flags) {
  auto database = open_store(flags.store);
  if (!database.is_ok()) {
    fmt::print(stderr, "error: {}\n", database.status().to_string());
    return 1;
  }
  SystemClock clock;
  IdGenerator ids(clock);  // listing makes no ids
  messaging::Messenger messenger(**database, ids, clock);
  auto messages = messenger.list(flags.limit);
  if (!messages.is_ok()) {
    fmt::print(stderr, "error: {}\n", messages.status().to_string());
    return 1;
  }
  // One message a line, tab-separated; the text last since it may contain spaces.
  for (const auto& message : *messages) {
    fmt::print("{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
               format_public_id(messaging::kMessageIdPrefix, message.id),
               format_rfc3339_ms(message.created_at_ms), messaging::channel_name(message.channel),
               messaging::message_state_name(message.state), message.destination,
               message.language, text_on_one_line(message));
  }
  return 0;
}

}  // namespace

void add_outbox_commands(CLI::App& admin, int* exit_code) {
  auto* outbox = admin.add_subcommand("outbox", "The outbox of SMS and email");
  outbox->require_subcommand(1);
  auto flags = std::make_shared<OutboxFlags>();
  auto* list = outbox->add_subcommand(
      "list", "Messages newest first: id, created, channel, state, destination, language, text (an "
      "email's subject, then its text; line breaks as \\n) (tabs)");
  add_store_flags(*list, flags->store);
  list->add_option("--limit", flags->limit, "How many messages")
      ->check(CLI::Range(1U, static_cast<unsigned>(limits::kPageSizeMax)));
  list->callback([=] { *exit_code = run_list(*flags); });
}

}  // namespace station::cli
