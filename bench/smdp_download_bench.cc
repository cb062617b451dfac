// Benchmark: full SGP.22 profile downloads per second against a running SM-DP+ (`station smdp`),
// from many concurrent LPAs in this process: each thread is one device, a virtual eUICC
// (src/euicc) driven by the LPA (src/lpa) over verified HTTPS on loopback, downloading one
// profile after another (initiateAuthentication through handleNotification). The profiles are
// ordered first through ES2+ (DownloadOrder + ConfirmOrder, with an admin API key), outside the
// measured time. Prints one line of key=value pairs; with --server-pid, also the CPU time the
// server process spent during the downloads (from /proc), which does not depend on what else
// the machine runs. bench/smdp_downloads.sh runs it beside `openssl speed`.
//
// Usage: smdp_download_bench --address HOST:PORT --pki DIR --key API_KEY --downloads N
//                            --lpas N --work-dir DIR [--server-pid PID] [--fresh-connections]
#include <sys/times.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "euicc/card.h"
#include "euicc/euicc.h"
#include "euicc/state.h"
#include "http/client.h"
#include "lpa/card_channel.h"
#include "lpa/lpa.h"

namespace {

using station::Result;
using station::Status;

// utime + stime of a process, in seconds.
double process_cpu_seconds(int pid) {
  std::ifstream file(fmt::format("/proc/{}/stat", pid));
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  // Fields after the command name in parentheses, which may hold spaces.
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::vector<std::string> values((std::istream_iterator<std::string>(fields)),
                                  std::istream_iterator<std::string>());
  // Field 14 (utime) and 15 (stime) of proc(5) are values[11] and [12] here.
  if (values.size() < 13) return -1;
  return static_cast<double>(std::stoull(values[11]) + std::stoull(values[12])) /
         static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double own_cpu_seconds() {
  struct tms now {};
  ::times(&now);
  return static_cast<double>(now.tms_utime + now.tms_stime) /
         static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// One ES2+ call; the parsed answer, or an error naming what came back.
Result<nlohmann::json> es2(const station::http::Client& client, const std::string& address,
                           const std::string& key, const std::string& function,
                           const nlohmann::json& body) {
  station::http::ClientRequest request;
  request.url = fmt::format("https://{}/gsma/rsp2/es2plus/{}", address, function);
  request.headers = {{"Content-Type", "application/json;charset=UTF-8"},
                     {"X-Admin-Protocol", "gsma/rsp/v2.2.0"},
                     {"Authorization", "Bearer " + key}};
  request.body = body.dump();
  auto response = client.send(request);
  if (!response.is_ok()) return response.status();
  auto answer = nlohmann::json::parse(response->body, nullptr, false);
  if (response->status != 200 || answer.is_discarded() ||
      answer["header"]["functionExecutionStatus"]["status"] != "Executed-Success") {
    return Status(station::ErrorCode::kConflict,
                  fmt::format("{}: {} {}", function, response->status, response->body));
  }
  return answer;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"SM-DP+ full downloads per second from concurrent in-process LPAs"};
  std::string address, pki, key, work_dir;
  int downloads = 200, lpas = 16, server_pid = 0;
  app.add_option("--address", address, "the SM-DP+, HOST:PORT")->required();
  app.add_option("--pki", pki, "the test PKI (station pki init)")->required();
  app.add_option("--key", key, "an admin API key for ES2+")->required();
  app.add_option("--work-dir", work_dir, "where the virtual eUICCs keep their state")->required();
  app.add_option("--downloads", downloads, "downloads in all")->check(CLI::Range(1, 100'000));
  app.add_option("--lpas", lpas, "concurrent LPAs (devices)")->check(CLI::Range(1, 1'024));
  app.add_option("--server-pid", server_pid, "the server process, for its CPU time");
  bool fresh_connections = false;
  app.add_flag("--fresh-connections", fresh_connections,
               "a new connection (and TLS handshake) per ES9+ call, instead of one per device");
  CLI11_PARSE(app, argc, argv);
  // A card holds at most euicc::kMaxProfiles.
  if ((downloads + lpas - 1) / lpas > static_cast<int>(station::euicc::kMaxProfiles)) {
    fmt::print(stderr, "at most {} downloads per LPA\n", station::euicc::kMaxProfiles);
    return 2;
  }

  const station::http::Client client(station::http::ClientOptions{.ca_file = pki + "/ci.pem"});
  std::vector<std::string> codes;
  for (int i = 0; i < downloads; ++i) {
    auto ordered = es2(client, address, key, "downloadOrder", nlohmann::json::object());
    auto confirmed =
        ordered.is_ok() ? es2(client, address, key, "confirmOrder",
                              {{"iccid", (*ordered)["iccid"]}, {"releaseFlag", "true"}})
                        : Result<nlohmann::json>(ordered.status());
    if (!confirmed.is_ok()) {
      fmt::print(stderr, "ordering: {}\n", confirmed.status().to_string());
      return 1;
    }
    codes.push_back(fmt::format("LPA:1${}${}", address,
                                (*confirmed)["matchingId"].get<std::string>()));
  }

  station::SystemClock clock;
  std::atomic<std::size_t> next{0};
  std::atomic<int> failed{0};
  std::mutex first_error_mutex;
  std::string first_error;
  const double server_cpu_before = server_pid != 0 ? process_cpu_seconds(server_pid) : 0;
  const double own_cpu_before = own_cpu_seconds();
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < lpas; ++t) {
    threads.emplace_back([&, t] {
      auto state = station::euicc::StateFile::create(fmt::format("{}/euicc-{}.json", work_dir, t),
                                                     pki);
      if (!state.is_ok()) {
        failed += 1;
        return;
      }
      station::euicc::Euicc isd_r(*state, clock);
      station::euicc::VirtualCard card(isd_r);
      station::lpa::VirtualCardTransport transport(card);
      // A device of its own keeps its connection to the SM-DP+ between the calls of a session,
      // as `station lpa` does (unless --fresh-connections).
      const station::http::Client device_client(station::http::ClientOptions{
          .ca_file = pki + "/ci.pem", .idle_connections_max = fresh_connections ? 0U : 1U});
      // The devices share one queue of activation codes, and a fast one must not take more than
      // its card holds: past kMaxProfiles the card refuses the package (insufficient memory).
      for (std::size_t taken = 0; taken < station::euicc::kMaxProfiles; ++taken) {
        const std::size_t i = next++;
        if (i >= codes.size()) break;
        station::lpa::DownloadRequest request;
        request.activation_code = codes[i];
        auto outcome =
            station::lpa::download_profile(transport, device_client, request, [](std::string_view) {});
        if (!outcome.is_ok() || !outcome->notification_delivered) {
          failed += 1;
          std::lock_guard lock(first_error_mutex);
          if (first_error.empty()) {
            first_error = outcome.is_ok() ? "notification not delivered"
                                          : outcome.status().to_string();
          }
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double server_cpu =
      server_pid != 0 ? process_cpu_seconds(server_pid) - server_cpu_before : 0;
  const double own_cpu = own_cpu_seconds() - own_cpu_before;
  const int completed = downloads - failed.load();
  fmt::print("downloads={} failed={} lpas={} connections={} seconds={:.3f} downloads_per_second={:.1f} "
             "server_cpu_seconds={:.3f} server_cpu_ms_per_download={:.3f} "
             "lpa_cpu_ms_per_download={:.3f}\n",
             completed, failed.load(), lpas, fresh_connections ? "per_call" : "per_device", seconds, completed / seconds, server_cpu,
             completed > 0 ? 1000 * server_cpu / completed : 0,
             completed > 0 ? 1000 * own_cpu / completed : 0);
  if (!first_error.empty()) fmt::print(stderr, "first failure: {}\n", first_error);
  return failed.load() == 0 ? 0 : 1;
}
