// Benchmark: the costs of an SM-DP+ download, beyond the cryptography of the OpenSSL bound, that
// any SM-DP+ built on this machine's OpenSSL and a durable store pays (bench/smdp_downloads.sh
// prints them beside its downloads, as the floor under the server's CPU time per download):
//   BM_EuiccCertificateDecode  decoding the eUICC certificate that authenticateClient receives
//                              (a new one per device: OpenSSL 3's d2i_X509 builds the public key
//                              through its provider decoders);
//   BM_DurableCommit           one durable commit of a session-sized row in the default store
//                              (SQLite, WAL, synchronous=FULL: a WAL write and an fdatasync); a
//                              download needs two (the package bound to the eUICC, and the
//                              installation result the LPA then deletes from the card);
//   BM_BareTlsExchange         the server's side of one request and answer (200 and 400 bytes)
//                              on a kept-alive TLS connection over loopback TCP, with OpenSSL and
//                              blocking sockets and nothing else: what any HTTPS server here pays
//                              per exchange at the least (a download makes four), to set beside
//                              Station's own server's cost that bench/smdp_downloads.sh measures.
// The "CPU" column counts: the thread's user and system time per iteration.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
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
// threads:2 shows what two threads decoding at once cost each: Certificate::from_der lets one
// decode run at a time, because OpenSSL 3.0's decoder lookup contends badly between threads.
BENCHMARK(BM_EuiccCertificateDecode)->Threads(1)->Threads(2);

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

constexpr std::size_t kRequestBytes = 200;  // about a small HTTP request with its header
constexpr std::size_t kAnswerBytes = 400;

bool read_exactly(SSL* ssl, std::size_t bytes) {
  char buffer[1024];
  while (bytes > 0) {
    const int n = SSL_read(ssl, buffer, static_cast<int>(std::min(bytes, sizeof buffer)));
    if (n <= 0) return false;
    bytes -= static_cast<std::size_t>(n);
  }
  return true;
}

// Writes `bytes` bytes of a fixed payload: no allocation inside the measured exchange.
bool write_all(SSL* ssl, std::size_t bytes) {
  static const std::string payload(std::max(kRequestBytes, kAnswerBytes), 'x');
  assert(bytes <= payload.size());
  return SSL_write(ssl, payload.data(), static_cast<int>(bytes)) == static_cast<int>(bytes);
}

void BM_BareTlsExchange(benchmark::State& state) {
  std::signal(SIGPIPE, SIG_IGN);  // the client may still write when the server hangs up
  auto pki = station::rsp_crypto::create_test_pki({});
  if (!pki.is_ok()) return state.SkipWithError(pki.status().to_string().c_str());
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> server_ctx(SSL_CTX_new(TLS_server_method()),
                                                               SSL_CTX_free);
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> client_ctx(SSL_CTX_new(TLS_client_method()),
                                                               SSL_CTX_free);
  if (!server_ctx || !client_ctx ||
      SSL_CTX_use_certificate(server_ctx.get(), pki->dp_tls.certificate.get()) != 1 ||
      SSL_CTX_use_PrivateKey(server_ctx.get(), pki->dp_tls.key.get()) != 1) {
    return state.SkipWithError("TLS contexts");
  }
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::listen(listener, 1) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (listener >= 0) ::close(listener);
    return state.SkipWithError("loopback listener");
  }
  // The client: connects, then sends a request and reads its answer until the server hangs up.
  std::thread client([&client_ctx, address] {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd);
      return;
    }
    const int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    SSL* ssl = SSL_new(client_ctx.get());
    SSL_set_fd(ssl, fd);  // the bench trusts its own server: no verification
    if (SSL_connect(ssl) == 1) {
      while (write_all(ssl, kRequestBytes) && read_exactly(ssl, kAnswerBytes)) {
      }
    }
    SSL_free(ssl);
    ::close(fd);
  });
  const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  ::close(listener);
  SSL* ssl = fd >= 0 ? SSL_new(server_ctx.get()) : nullptr;
  if (ssl != nullptr) {
    const int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    SSL_set_fd(ssl, fd);
  }
  if (ssl == nullptr || SSL_accept(ssl) != 1) {
    state.SkipWithError("TLS handshake");
  } else {
    for (auto _ : state) {
      if (!read_exactly(ssl, kRequestBytes) || !write_all(ssl, kAnswerBytes)) {
        state.SkipWithError("exchange");
        break;
      }
    }
  }
  if (ssl != nullptr) SSL_free(ssl);
  if (fd >= 0) ::close(fd);  // the client's read fails, and it ends
  client.join();
}
BENCHMARK(BM_BareTlsExchange);

}  // namespace

BENCHMARK_MAIN();
