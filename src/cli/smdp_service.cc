#include "cli/smdp_service.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "smdp/routes.h"
#include "upp/upp.h"

namespace station::cli {

Result<std::unique_ptr<SmdpService>> SmdpService::start(
    const SmdpServeOptions& options, smdp::SmdpDependencies dependencies,
    const storage::OwnershipLock& owner, auth::Authenticator& authenticator,
    metrics::Registry& registry, std::shared_ptr<spdlog::logger> access_log) {
  smdp::SmdpConfig config;
  config.address = options.address;
  config.notification_address = options.notification_address;
  config.session_ttl_seconds = options.session_ttl_seconds;
  config.cc_attempts_max = options.cc_attempts_max;
  STATION_ASSIGN_OR_RETURN(auto credentials, smdp::load_credentials(options.credentials));
  config.credentials.push_back(std::move(credentials));
  if (!options.upp_template_file.empty()) {
    // A bad template stops start-up here rather than failing every download later.
    auto bytes = read_file_bounded(options.upp_template_file, upp::kMaxTemplateBytes);
    if (!bytes.is_ok()) {
      return Status(bytes.status().code(), "smdp_upp_template: " + bytes.status().message());
    }
    auto parsed = upp::ProfileTemplate::parse(der::as_bytes(*bytes));
    if (!parsed.is_ok()) {
      return Status(parsed.status().code(),
                    fmt::format("smdp_upp_template {}: {}", options.upp_template_file,
                                parsed.status().message()));
    }
    config.profile_template = std::move(parsed).value();
  }
  STATION_RETURN_IF_ERROR(smdp::check_config(config));
  if (options.callbacks) STATION_RETURN_IF_ERROR(smdp::check_config(*options.callbacks));

  std::unique_ptr<SmdpService> service(new SmdpService());
  service->smdp_ = std::make_unique<smdp::Smdp>(dependencies, std::move(config));
  if (options.callbacks) {
    service->callbacks_ = std::make_unique<smdp::ProgressCallbacks>(
        dependencies.database, dependencies.ids, dependencies.clock, dependencies.metrics,
        *options.callbacks, options.address);
    service->smdp_->set_progress_callbacks(service->callbacks_.get());
    service->callbacks_->start(owner);
  }
  service->workers_ = std::make_unique<WorkerPool>(std::max<std::size_t>(1, options.workers),
                                                   std::max<std::size_t>(1, options.work_held_max));
  smdp::add_smdp_routes(service->router_, *service->smdp_, authenticator, *service->workers_);
  service->server_ = std::make_unique<http::Server>(options.server, service->router_, registry,
                                                    std::move(access_log));
  STATION_RETURN_IF_ERROR(service->server_->listen());
  smdp::Smdp& smdp = *service->smdp_;
  service->session_sweeper_.start(limits::kSmdpSweepIntervalMs, [&smdp] {
    auto deleted = smdp.delete_abandoned_sessions(limits::kSmdpSweepBatch);
    if (!deleted.is_ok()) spdlog::warn("sm-dp+ session sweeper: {}", deleted.status().to_string());
    return deleted.is_ok() && *deleted == limits::kSmdpSweepBatch;
  });
  return service;
}

SmdpService::~SmdpService() {
  if (workers_) workers_->join();
}

void SmdpService::run() {
  server_->run();
  // Calls still queued answer closed connections; they finish before the server can go.
  workers_->join();
}

}  // namespace station::cli
