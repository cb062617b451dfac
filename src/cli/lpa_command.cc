// `station lpa ...` and `station euicc ...`: the LPA driving a virtual eUICC whose state is a
// file (euicc/state.h); `station euicc bridge` lends that eUICC to a third-party LPA process
// (lpa/stdio_bridge.h). The state file is created by `station euicc init --euicc FILE --pki DIR`
// from the eUICC keys and certificates `station pki init DIR` wrote, or on the first
// `station lpa download` / `notifications process` given --pki when FILE does not exist yet.
// The SM-DP+'s TLS certificate is verified against --ca (default DIR/ci.pem: the test PKI's CI,
// which issues the DPtls certificate).
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "common/clock.h"
#include "euicc/card.h"
#include "euicc/euicc.h"
#include "euicc/state.h"
#include "http/client.h"
#include "lpa/card_channel.h"
#include "lpa/lpa.h"
#include "lpa/stdio_bridge.h"

namespace station::cli {
namespace {

struct LpaFlags {
  std::string euicc_file;
  std::string pki_dir;
  std::string ca_file;
  std::string activation_code;
  std::string confirmation_code;
  std::string iccid;
  bool json = false;
  std::uint32_t timeout_ms = 30'000;
  std::vector<std::string> command;  // the LPA to bridge, after --
};

// The virtual eUICC of a state file, with the card and the LPA's transport in front of it.
class VirtualEuicc {
 public:
  static Result<std::unique_ptr<VirtualEuicc>> open(const LpaFlags& flags, bool may_create) {
    auto state = euicc::StateFile::open(flags.euicc_file);
    if (!state.is_ok() && state.status().code() == ErrorCode::kNotFound && may_create &&
        !flags.pki_dir.empty()) {
      state = euicc::StateFile::create(flags.euicc_file, flags.pki_dir);
      if (state.is_ok()) {
        fmt::print(stderr, "eUICC {} created in {} from {}\n", state->state().eid, flags.euicc_file,
                   flags.pki_dir);
      }
    }
    if (!state.is_ok()) return state.status();
    return std::unique_ptr<VirtualEuicc>(new VirtualEuicc(std::move(*state)));
  }
  lpa::ApduTransport& transport() { return transport_; }

 private:
  explicit VirtualEuicc(euicc::StateFile state)
      : state_(std::move(state)), euicc_(state_, clock_), card_(euicc_), transport_(card_) {}
  euicc::StateFile state_;
  SystemClock clock_;
  euicc::Euicc euicc_;
  euicc::VirtualCard card_;
  lpa::VirtualCardTransport transport_;
};

http::Client https_client(const LpaFlags& flags) {
  std::string ca = flags.ca_file;
  if (ca.empty() && !flags.pki_dir.empty()) {
    ca = (std::filesystem::path(flags.pki_dir) / "ci.pem").string();
  }
  // The calls of an ES9+ session follow one another: they share one kept-alive connection (one
  // TLS handshake per session instead of one per call).
  return http::Client(http::ClientOptions{
      .ca_file = ca, .timeout_ms = flags.timeout_ms, .idle_connections_max = 1});
}

lpa::Progress progress_printer() {
  auto step = std::make_shared<int>(0);
  return [step](std::string_view text) { fmt::print(stderr, "[{}] {}\n", ++*step, text); };
}

int run_download(const LpaFlags& flags) {
  auto card = VirtualEuicc::open(flags, /*may_create=*/true);
  if (!card.is_ok()) return fail(card.status());
  lpa::DownloadRequest request{.activation_code = flags.activation_code};
  if (!flags.confirmation_code.empty()) request.confirmation_code = flags.confirmation_code;
  const http::Client http = https_client(flags);
  auto outcome = lpa::download_profile((*card)->transport(), http, request, progress_printer());
  if (!outcome.is_ok()) return fail(outcome.status());
  fmt::print("{}\n", outcome->iccid);
  return 0;
}

int run_profiles(const LpaFlags& flags) {
  auto card = VirtualEuicc::open(flags, /*may_create=*/false);
  if (!card.is_ok()) return fail(card.status());
  auto profiles = lpa::list_profiles((*card)->transport());
  if (!profiles.is_ok()) return fail(profiles.status());
  if (flags.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : *profiles) {
      out.push_back({{"iccid", p.iccid},
                     {"state", p.state},
                     {"service_provider_name", p.service_provider_name},
                     {"profile_name", p.profile_name},
                     {"profile_class", p.profile_class},
                     {"isdp_aid", p.isdp_aid}});
    }
    fmt::print("{}\n", out.dump());
    return 0;
  }
  for (const auto& p : *profiles) {
    fmt::print("{}  {:<8}  {}  {}\n", p.iccid, p.state, p.service_provider_name, p.profile_name);
  }
  return 0;
}

int run_change(const LpaFlags& flags, Status (*change)(lpa::ApduTransport&, std::string_view),
               std::string_view done) {
  auto card = VirtualEuicc::open(flags, /*may_create=*/false);
  if (!card.is_ok()) return fail(card.status());
  if (Status status = change((*card)->transport(), flags.iccid); !status.is_ok()) {
    return fail(status);
  }
  fmt::print(stderr, "profile {} {}; run `station lpa notifications process` to tell the SM-DP+\n",
             flags.iccid, done);
  return 0;
}

int run_notifications(const LpaFlags& flags) {
  auto card = VirtualEuicc::open(flags, /*may_create=*/true);
  if (!card.is_ok()) return fail(card.status());
  const http::Client http = https_client(flags);
  auto deliveries = lpa::process_notifications((*card)->transport(), http, progress_printer());
  if (!deliveries.is_ok()) return fail(deliveries.status());
  int failed = 0;
  for (const auto& delivery : *deliveries) failed += delivery.status.is_ok() ? 0 : 1;
  fmt::print("{} delivered, {} failed\n", deliveries->size() - failed, failed);
  return failed == 0 ? 0 : 1;
}

int run_euicc_init(const LpaFlags& flags) {
  auto state = euicc::StateFile::create(flags.euicc_file, flags.pki_dir);
  if (!state.is_ok()) return fail(state.status());
  fmt::print(stderr, "eUICC {} created in {} (secrets sealed with the key in {}.key)\n",
             state->state().eid, flags.euicc_file, flags.euicc_file);
  fmt::print("{}\n", state->state().eid);
  return 0;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

// Runs the LPA command as a child whose stdin and stdout are pipes to this process; answers its
// protocol lines and passes its other output through. Exits with the child's exit code.
int run_bridge(const LpaFlags& flags) {
  if (flags.command.empty()) return fail(Status(ErrorCode::kValidationFailed, "no command given"));
  auto card = VirtualEuicc::open(flags, /*may_create=*/true);
  if (!card.is_ok()) return fail(card.status());
  const http::Client http = https_client(flags);
  lpa::StdioBridge bridge((*card)->transport(), http);

  int to_child[2];
  int from_child[2];
  if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0) {
    return fail(Status(ErrorCode::kInternal, fmt::format("pipe: {}", std::strerror(errno))));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, to_child[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, from_child[1], STDOUT_FILENO);
  std::vector<char*> argv;
  for (const auto& word : flags.command) argv.push_back(const_cast<char*>(word.c_str()));
  argv.push_back(nullptr);
  pid_t child = 0;
  const int spawned = posix_spawnp(&child, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(to_child[0]);
  ::close(from_child[1]);
  if (spawned != 0) {
    ::close(to_child[1]);
    ::close(from_child[0]);
    return fail(Status(ErrorCode::kValidationFailed,
                       fmt::format("cannot run {}: {}", argv[0], std::strerror(spawned))));
  }
  std::signal(SIGPIPE, SIG_IGN);  // a child that stops reading must not kill the bridge
  std::string pending;
  char buffer[64 * 1024];
  bool child_reads = true;
  while (true) {
    const ssize_t got = ::read(from_child[0], buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    pending.append(buffer, static_cast<std::size_t>(got));
    std::size_t newline;
    while ((newline = pending.find('\n')) != std::string::npos ||
           pending.size() > lpa::kMaxBridgeLineBytes) {
      const std::size_t end = newline == std::string::npos ? pending.size() : newline;
      const std::string line = pending.substr(0, end);
      pending.erase(0, newline == std::string::npos ? end : end + 1);
      if (auto reply = bridge.handle_line(line)) {
        if (child_reads) child_reads = write_all(to_child[1], *reply + "\n");
      } else {
        fmt::print("{}\n", line);
        std::fflush(stdout);
      }
    }
  }
  if (!pending.empty()) fmt::print("{}\n", pending);
  ::close(to_child[1]);
  ::close(from_child[0]);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

void add_euicc_flag(CLI::App* command, LpaFlags& flags) {
  command->add_option("--euicc", flags.euicc_file, "State file of the virtual eUICC")->required();
}

void add_pki_flags(CLI::App* command, LpaFlags& flags, bool required) {
  auto* pki = command->add_option(
      "--pki", flags.pki_dir,
      "Test PKI directory (station pki init): creates the eUICC state when missing; its ci.pem "
      "verifies the SM-DP+'s TLS certificate");
  if (required) pki->required();
  command->add_option("--ca", flags.ca_file,
                      "PEM trust anchors for the SM-DP+'s TLS certificate (default PKI/ci.pem)");
  command->add_option("--timeout-ms", flags.timeout_ms, "Timeout of each HTTPS request");
}

}  // namespace

void add_lpa_command(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<LpaFlags>();
  auto* lpa = app.add_subcommand("lpa", "The LPA: download and manage profiles on a virtual eUICC");
  lpa->require_subcommand(1);

  auto* download = lpa->add_subcommand(
      "download", "Download a profile (SGP.22 activation code) and report its installation");
  download->add_option("--ac", flags->activation_code, "Activation code LPA:1$address$matchingId")
      ->required();
  download->add_option("--cc", flags->confirmation_code, "Confirmation code, when one is needed");
  add_euicc_flag(download, *flags);
  add_pki_flags(download, *flags, /*required=*/true);
  download->callback([=] { *exit_code = run_download(*flags); });

  auto* profiles = lpa->add_subcommand("profiles", "List the profiles on the eUICC");
  add_euicc_flag(profiles, *flags);
  profiles->add_flag("--json", flags->json, "JSON array of {iccid, state, ...}");
  profiles->callback([=] { *exit_code = run_profiles(*flags); });

  struct Change {
    const char* name;
    const char* help;
    Status (*function)(lpa::ApduTransport&, std::string_view);
    const char* done;
  };
  for (const Change& change :
       {Change{"enable", "Enable a profile (the enabled one is disabled)", lpa::enable_profile,
               "enabled"},
        Change{"disable", "Disable a profile", lpa::disable_profile, "disabled"},
        Change{"delete", "Delete a disabled profile", lpa::delete_profile, "deleted"}}) {
    auto* command = lpa->add_subcommand(change.name, change.help);
    command->add_option("ICCID", flags->iccid, "ICCID of the profile")->required();
    add_euicc_flag(command, *flags);
    command->callback([=] { *exit_code = run_change(*flags, change.function, change.done); });
  }

  auto* notifications = lpa->add_subcommand("notifications", "The eUICC's pending notifications");
  notifications->require_subcommand(1);
  auto* process = notifications->add_subcommand(
      "process", "Send every pending notification to its SM-DP+ and remove those delivered");
  add_euicc_flag(process, *flags);
  add_pki_flags(process, *flags, /*required=*/false);
  process->callback([=] { *exit_code = run_notifications(*flags); });

  auto* euicc = app.add_subcommand("euicc", "The virtual eUICC");
  euicc->require_subcommand(1);
  auto* init = euicc->add_subcommand(
      "init", "Create a virtual eUICC's state file from a test PKI directory (station pki init)");
  add_euicc_flag(init, *flags);
  init->add_option("--pki", flags->pki_dir, "Test PKI directory")->required();
  init->callback([=] { *exit_code = run_euicc_init(*flags); });

  auto* bridge = euicc->add_subcommand(
      "bridge",
      "Run a third-party LPA speaking the line-delimited JSON stdio protocol "
      "(lpa-stdio-schema.json): the virtual eUICC answers its APDUs and its HTTP requests go to "
      "the SM-DP+ over verified HTTPS");
  add_euicc_flag(bridge, *flags);
  add_pki_flags(bridge, *flags, /*required=*/false);
  bridge->add_option("COMMAND", flags->command, "The LPA and its arguments, after --")->required();
  bridge->callback([=] { *exit_code = run_bridge(*flags); });
}

}  // namespace station::cli
