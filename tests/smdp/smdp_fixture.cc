#include "smdp_fixture.h"

#include <unistd.h>

#include <sstream>

#include <fmt/format.h>

#include "auth/api_keys.h"
#include "schema/migrations.h"
#include "smdp/routes.h"

namespace station::smdp::test {

namespace fs = std::filesystem;

constexpr std::string_view kKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr std::string_view kKi = "465b5ce8b199b49faa5f0a2ee238a6bc";
constexpr std::string_view kOpc = "CD63CB71954A9F4E48A5994E37A02BAF";
constexpr int kProfiles = 3;

std::string test_iccid(int serial) {
  std::string body = fmt::format("8988247{:011d}", serial);
  int sum = 0;
  bool doubled = true;
  for (auto it = body.rbegin(); it != body.rend(); ++it) {
    int digit = *it - '0';
    if (doubled) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
    doubled = !doubled;
  }
  return body + std::to_string((10 - sum % 10) % 10);
}

std::string test_imsi(int serial) { return fmt::format("460001{:09d}", serial); }

std::string eid_with_check_digits(std::string_view first_30_digits) {
  unsigned remainder = 0;
  for (char c : std::string(first_30_digits) + "00") {
    remainder = (remainder * 10 + static_cast<unsigned>(c - '0')) % 97;
  }
  return fmt::format("{}{:02d}", first_30_digits, 98 - remainder);
}

Device::Device(const std::string& state_path, const std::string& pki_dir, const Clock& clock)
    : state(euicc::StateFile::create(state_path, pki_dir).value()),
      isd_r(state, clock),
      card(isd_r),
      transport(card) {}

Result<lpa::DownloadOutcome> Device::download(const std::string& activation_code,
                                              std::optional<std::string> confirmation_code,
                                              const http::Client& client) {
  lpa::DownloadRequest request;
  request.activation_code = activation_code;
  request.confirmation_code = std::move(confirmation_code);
  return lpa::download_profile(transport, client, request, [](std::string_view) {});
}

void SmdpTest::SetUp() {
  STATION_SKIP_UNLESS_ENGINE_AVAILABLE(GetParam());
  static int tests = 0;
  dir_ = fs::temp_directory_path() / fmt::format("station-smdp-test-{}-{}", ::getpid(), ++tests);
  fs::remove_all(dir_);
  fs::create_directories(dir_);
  pki_dir_ = (dir_ / "pki").string();
  pki_ = rsp_crypto::create_test_pki({}).value();
  ASSERT_TRUE(rsp_crypto::write_test_pki(pki_, pki_dir_, false).is_ok());

  scratch_ = storage::testing::ScratchDatabase::create(GetParam()).value();
  database_ = storage::Database::open(scratch_->options()).value();
  ASSERT_TRUE(database_->migrate(schema::all_migrations()).is_ok());
  keyring_ = secrets::parse_key_list(kKey).value();
  clock_ = std::make_unique<ManualClock>(SystemClock().now_unix_ms());
  ids_ = std::make_unique<IdGenerator>(*clock_);
  inventory_ = std::make_unique<inventory::Inventory>(*database_, keyring_, *clock_);
  std::string csv = "iccid,imsi,ki,opc\n";
  for (int i = 1; i <= kProfiles; ++i) {
    csv += fmt::format("{},{},{},{}\n", test_iccid(i), test_imsi(i), kKi, kOpc);
  }
  ASSERT_EQ(inventory_->import_csv(csv).value().imported, static_cast<std::size_t>(kProfiles));

  http::ServerOptions options;
  options.listen_host = "127.0.0.1";
  options.listen_port = 0;
  options.shutdown_grace_ms = 500;
  options.tls = http::TlsFiles{pki_dir_ + "/dp_tls.pem", pki_dir_ + "/dp_tls.key.pem"};
  server_ = std::make_unique<http::Server>(options, router_, metrics_, nullptr);
  ASSERT_TRUE(server_->listen().is_ok());
  address_ = fmt::format("localhost:{}", server_->port());

  SmdpConfig config = config_for_test();
  ASSERT_TRUE(check_config(config).is_ok()) << check_config(config).to_string();
  smdp_ = std::make_unique<Smdp>(
      SmdpDependencies{*database_, *inventory_, *ids_, *clock_, metrics_},
      std::move(config));
  smdp_->set_progress_listener([this](Id order_id, DownloadProgress progress, std::string_view) {
    std::lock_guard lock(progress_mutex_);
    progress_.emplace_back(order_id, progress);
  });
  authenticator_ = std::make_unique<auth::Authenticator>(*database_, *clock_);
  workers_ = std::make_unique<WorkerPool>(2, kWorkHeldMax);
  add_smdp_routes(router_, *smdp_, *authenticator_, *workers_);
  runner_ = std::thread([this] { server_->run(); });
  client_ = std::make_unique<http::Client>(http::ClientOptions{.ca_file = pki_dir_ + "/ci.pem"});
}

void SmdpTest::TearDown() {
  if (server_) {
    server_->stop();
    if (runner_.joinable()) runner_.join();
  }
  workers_.reset();  // joined before the server goes: its calls answer through it
  server_.reset();
  smdp_.reset();
  authenticator_.reset();
  inventory_.reset();
  database_.reset();
  scratch_.reset();
  if (!dir_.empty()) fs::remove_all(dir_);
}

std::string SmdpTest::order_profile(std::optional<std::string> eid,
                                    std::optional<std::string> confirmation_code,
                                    std::optional<Id> order_id) {
  DownloadOrderRequest request;
  request.eid = eid;
  request.order_id = order_id;
  request.requester = "test";
  auto iccid = smdp_->download_order(request);
  EXPECT_TRUE(iccid.is_ok()) << iccid.status().to_string();
  ConfirmOrderRequest confirm;
  confirm.iccid = iccid.is_ok() ? *iccid : "";
  confirm.eid = eid;
  if (confirmation_code) confirm.confirmation_code_hash = auth::sha256_hex(*confirmation_code);
  auto confirmed = smdp_->confirm_order(confirm);
  EXPECT_TRUE(confirmed.is_ok()) << confirmed.status().to_string();
  last_iccid_ = confirm.iccid;
  return fmt::format("LPA:1${}${}", address_, confirmed.is_ok() ? confirmed->matching_id : "");
}

SmdpConfig SmdpTest::config_for_test() {
  SmdpConfig config;
  config.address = address_;
  config.credentials.push_back(load_credentials_from_pki_dir(pki_dir_).value());
  return config;
}

std::unique_ptr<Device> SmdpTest::new_device(const std::string& pki_dir) {
  return std::make_unique<Device>((dir_ / fmt::format("euicc-{}.json", ++devices_)).string(),
                                  pki_dir.empty() ? pki_dir_ : pki_dir, *clock_);
}

inventory::ProfileState SmdpTest::profile_state(const std::string& iccid) {
  return inventory_->get(iccid).value().state;
}

double SmdpTest::metric(const std::string& series) {
  std::istringstream text(metrics_.render_prometheus());
  std::string line;
  while (std::getline(text, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return 0;
}

}  // namespace station::smdp::test
