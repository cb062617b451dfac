// The SM-DP+ test fixture: a fresh store on either engine with three profiles, a test PKI, the
// SM-DP+ serving ES9+/ES2+ over HTTPS (its DPtls certificate) on a loopback port, and a virtual
// eUICC (src/euicc) driven by the LPA (src/lpa) over verified HTTPS — the real parts on both
// sides. The clock is manual (its start is the real time, as certificate validity needs), so
// expiry is tested without sleeping.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "auth/api_keys.h"
#include "common/worker_pool.h"
#include "euicc/card.h"
#include "euicc/euicc.h"
#include "euicc/state.h"
#include "http/client.h"
#include "http/router.h"
#include "http/server.h"
#include "inventory/inventory.h"
#include "lpa/card_channel.h"
#include "lpa/lpa.h"
#include "rsp_crypto/pki.h"
#include "smdp/smdp.h"
#include "storage/scratch_database.h"

namespace station::smdp::test {

using storage::testing::Engine;

// An ICCID of 19 digits with its Luhn digit, and an IMSI, numbered by `serial`.
std::string test_iccid(int serial);
std::string test_imsi(int serial);
// A 32-digit EID with valid MOD 97-10 check digits.
std::string eid_with_check_digits(std::string_view first_30_digits);

// A virtual eUICC with its own state file, and what its LPA needs.
struct Device {
  Device(const std::string& state_path, const std::string& pki_dir, const Clock& clock);
  Result<lpa::DownloadOutcome> download(const std::string& activation_code,
                                        std::optional<std::string> confirmation_code,
                                        const http::Client& client);

  euicc::StateFile state;
  euicc::Euicc isd_r;
  euicc::VirtualCard card;
  lpa::VirtualCardTransport transport;
};

class SmdpTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override;
  void TearDown() override;

  // ES2+ DownloadOrder + ConfirmOrder (released): the activation code.
  std::string order_profile(std::optional<std::string> eid = std::nullopt,
                            std::optional<std::string> confirmation_code = std::nullopt,
                            std::optional<Id> order_id = std::nullopt);
  // The configuration the fixture's SM-DP+ runs with (its address and the test PKI).
  SmdpConfig config_for_test();
  // A new device on a PKI directory (default: the SM-DP+'s test PKI).
  std::unique_ptr<Device> new_device(const std::string& pki_dir = "");
  inventory::ProfileState profile_state(const std::string& iccid);
  // The value of a counter series in the metrics text, 0 when absent.
  double metric(const std::string& series);

  std::filesystem::path dir_;
  std::string pki_dir_;
  rsp_crypto::TestPki pki_;
  std::unique_ptr<storage::testing::ScratchDatabase> scratch_;
  std::unique_ptr<storage::Database> database_;
  secrets::Keyring keyring_;
  std::unique_ptr<ManualClock> clock_;
  std::unique_ptr<IdGenerator> ids_;
  std::unique_ptr<inventory::Inventory> inventory_;
  metrics::Registry metrics_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<auth::Authenticator> authenticator_;
  std::unique_ptr<Smdp> smdp_;
  // Runs the binding's calls; kWorkHeldMax of them at most.
  static constexpr std::size_t kWorkHeldMax = 16;
  std::unique_ptr<WorkerPool> workers_;
  std::unique_ptr<http::Client> client_;
  std::thread runner_;
  std::string address_;
  int devices_ = 0;
  std::string last_iccid_;  // of the last order_profile()

  std::mutex progress_mutex_;
  std::vector<std::pair<Id, DownloadProgress>> progress_;  // GUARDED_BY(progress_mutex_)
};

}  // namespace station::smdp::test
