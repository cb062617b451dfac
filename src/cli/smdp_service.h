// cli/smdp_service: the SM-DP+ as a running service: the Smdp (src/smdp) on its credentials, the
// workers its ES9+/ES2+ calls run on, and its HTTPS listener. `station serve --smdp-listen` runs
// one beside the API; `station smdp` runs one alone.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <spdlog/logger.h>

#include "auth/api_keys.h"
#include "common/limits.h"
#include "common/periodic.h"
#include "common/worker_pool.h"
#include "http/router.h"
#include "http/server.h"
#include "smdp/smdp.h"

namespace station::cli {

struct SmdpServeOptions {
  http::ServerOptions server;  // with tls set
  std::string address;         // host[:port] as activation codes carry it
  // Where eUICCs send enable/disable/delete notifications (smdp::SmdpConfig); empty: address.
  std::string notification_address;
  smdp::CredentialFiles credentials;
  std::uint32_t session_ttl_seconds = 600;
  std::uint32_t cc_attempts_max = 3;
  std::string upp_template_file;  // the profile template (upp/upp.h); empty: the built-in one
  std::uint32_t workers = 2;  // threads running the binding's calls; 0 counts as 1
  std::size_t work_held_max = limits::kSmdpWorkHeldMax;
  // ES2+ HandleDownloadProgressInfo to the operator; none: no reports.
  std::optional<smdp::ProgressCallbackConfig> callbacks;
};

class SmdpService {
 public:
  // Loads and checks the credentials, then binds the listener (so port() is known) and starts
  // the progress callback sender when configured. The dependencies, `owner` (the process's
  // ownership lock of the store) and `authenticator` must outlive the service.
  static Result<std::unique_ptr<SmdpService>> start(const SmdpServeOptions& options,
                                                    smdp::SmdpDependencies dependencies,
                                                    const storage::OwnershipLock& owner,
                                                    auth::Authenticator& authenticator,
                                                    metrics::Registry& registry,
                                                    std::shared_ptr<spdlog::logger> access_log);
  // REQUIRES: run() has returned, or was never called.
  ~SmdpService();

  smdp::Smdp& smdp() { return *smdp_; }
  std::uint16_t port() const { return server_->port(); }
  // For more routes on the same listener; add them before run().
  http::Router& router() { return router_; }

  // Serves until stop() (or a signal, after stop_on_signals()); returns once in-flight calls
  // are answered and the workers have finished.
  void run();
  void stop() { server_->stop(); }
  void stop_on_signals() { server_->stop_on_signals(); }

 private:
  SmdpService() = default;

  std::unique_ptr<smdp::Smdp> smdp_;
  // Deletes abandoned sessions; declared after the SM-DP+, so it stops before the SM-DP+ goes.
  Periodic session_sweeper_;
  // After the SM-DP+: stopped and destroyed before it, which reports to it. Null: no reports.
  std::unique_ptr<smdp::ProgressCallbacks> callbacks_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
  // Declared after the server: destroyed (joined) first, as the calls answer through it.
  std::unique_ptr<WorkerPool> workers_;
};

}  // namespace station::cli
