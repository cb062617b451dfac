// Benchmark: the costs of an SM-DP+ download, beyond the cryptography of the OpenSSL bound, that
// any SM-DP+ built on this machine's OpenSSL and a durable store pays (bench/smdp_downloads.sh
// prints them beside its downloads, as the floor under the server's CPU time per download):
//   BM_EuiccCertificateDecode  decoding the eUICC certificate that authenticateClient receives
//                              (a new one per device: OpenSSL 3's d2i_X509 builds the public key
//                              through its provider decoders);
//   BM_DurableCommit           one durable commit of a session-sized row in the default store
//                              (SQLite, WAL, synchronous=FULL: a WAL write and an fdatasync); a
//                              download needs two (the package bound to the eUICC, and the
//                              installation result the LPA then deletes from the card).
// The "CPU" column counts: the thread's user and system time per iteration.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "rsp_crypto/pki.h"
#include "storage/database.h"

namespace {

using station::rsp_crypto::Certificate;

void BM_EuiccCertificateDecode(benchmark::State& state) {
  auto pki = station::rsp_crypto::create_test_pki({});
  if (!pki.is_ok()) return state.SkipWithError(pki.status().to_string().c_str());
  auto der = pki->euicc.certificate.der();
  if (!der.is_ok()) return state.SkipWithError(der.status().to_string().c_str());
  for (auto _ : state) {
    auto decoded = Certificate::from_der(*der);
    if (!decoded.is_ok()) {
      state.SkipWithError(decoded.status().to_string().c_str());
      break;
    }
    benchmark::DoNotOptimize(decoded);
  }
}
BENCHMARK(BM_EuiccCertificateDecode);

void BM_DurableCommit(benchmark::State& state) {
  char pattern[] = "/tmp/station-floor-XXXXXX";
  const char* directory = mkdtemp(pattern);
  if (directory == nullptr) return state.SkipWithError("mkdtemp");
  {
    auto database = station::storage::Database::open(
        {.url = station::storage::default_database_url(directory), .pool_size = 1});
    if (!database.is_ok()) return state.SkipWithError(database.status().to_string().c_str());
    auto connection = (*database)->acquire();
    if (!connection.is_ok()) return state.SkipWithError(connection.status().to_string().c_str());
    if (!(*connection)
             ->execute_script("CREATE TABLE sessions (id BIGINT PRIMARY KEY, body TEXT)")
             .is_ok()) {
      return state.SkipWithError("CREATE TABLE");
    }
    // About what getBoundProfilePackage writes: a session row with its hex-encoded keys.
    const std::string body(1'024, 'A');
    std::int64_t id = 0;
    for (auto _ : state) {
      auto transaction = station::storage::Transaction::begin(**connection);
      const std::vector<station::storage::Value> row = {++id, body};
      if (!transaction.is_ok() ||
          !(*connection)->execute("INSERT INTO sessions (id, body) VALUES (?, ?)", row).is_ok() ||
          !transaction->commit().is_ok()) {
        state.SkipWithError("commit");
        break;
      }
    }
  }
  std::filesystem::remove_all(directory);
}
BENCHMARK(BM_DurableCommit);

}  // namespace

BENCHMARK_MAIN();
