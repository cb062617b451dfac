#include "cli/smdp_service.h"

#include <algorithm>

#include "smdp/routes.h"

namespace station::cli {

Result<std::unique_ptr<SmdpService>> SmdpService::start(
    const SmdpServeOptions& options, smdp::SmdpDependencies dependencies,
    auth::Authenticator& authenticator, metrics::Registry& registry,
    std::shared_ptr<spdlog::logger> access_log) {
  smdp::SmdpConfig config;
  config.address = options.address;
  config.session_ttl_seconds = options.session_ttl_seconds;
  config.cc_attempts_max = options.cc_attempts_max;
  STATION_ASSIGN_OR_RETURN(auto credentials, smdp::load_credentials(options.credentials));
  config.credentials.push_back(std::move(credentials));
  STATION_RETURN_IF_ERROR(smdp::check_config(config));

  std::unique_ptr<SmdpService> service(new SmdpService());
  service->smdp_ = std::make_unique<smdp::Smdp>(dependencies, std::move(config));
  service->workers_ = std::make_unique<WorkerPool>(std::max<std::size_t>(1, options.workers),
                                                   std::max<std::size_t>(1, options.work_held_max));
  smdp::add_smdp_routes(service->router_, *service->smdp_, authenticator, *service->workers_);
  service->server_ = std::make_unique<http::Server>(options.server, service->router_, registry,
                                                    std::move(access_log));
  STATION_RETURN_IF_ERROR(service->server_->listen());
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
