// The outgoing HTTP client (http/client.h) against the server over TLS: it reaches a server whose
// certificate chains to its CA file and names the host, and refuses one that does not (another
// root, a name the certificate lacks); answers beyond its limit are refused; URLs are strict.
#include "http/client.h"

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "rsp_crypto/pki.h"
#include "server_fixture.h"

namespace station::http::test {
namespace {

namespace fs = std::filesystem;

class ClientTest : public ServerTest {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("station-client-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    for (const char* name : {"pki", "other"}) {
      auto pki = rsp_crypto::create_test_pki({});
      ASSERT_TRUE(pki.is_ok()) << pki.status().to_string();
      ASSERT_TRUE(rsp_crypto::write_test_pki(*pki, (dir_ / name).string(), false).is_ok());
    }
    auto options = test_options();
    options.keep_alive_idle_ms = kKeepAliveIdleMs;
    options.tls = TlsFiles{(dir_ / "pki" / "dp_tls.pem").string(),
                           (dir_ / "pki" / "dp_tls.key.pem").string()};
    start(options);
  }
  void TearDown() override {
    ServerTest::TearDown();
    fs::remove_all(dir_);
  }
  Result<ClientResponse> get(const std::string& host, const std::string& ca,
                             std::size_t max_bytes = kClientResponseBytesMaxDefault) {
    Client client(ClientOptions{.ca_file = (dir_ / ca / "ci.pem").string(),
                                .timeout_ms = 10'000,
                                .max_response_bytes = max_bytes});
    return client.send(
        {.method = "GET", .url = "https://" + host + ":" + std::to_string(port()) + "/healthz"});
  }
  static constexpr std::uint32_t kKeepAliveIdleMs = 300;
  fs::path dir_;
};

TEST_F(ClientTest, ReachesAServerItsCaVouchesFor) {
  auto reply = get("localhost", "pki");
  ASSERT_TRUE(reply.is_ok()) << reply.status().to_string();
  EXPECT_EQ(reply->status, 200);
  EXPECT_FALSE(reply->header("content-type").empty());
}

TEST_F(ClientTest, RefusesAnotherRootAndANameTheCertificateLacks) {
  auto other_root = get("localhost", "other");
  ASSERT_FALSE(other_root.is_ok());
  EXPECT_EQ(other_root.status().code(), ErrorCode::kUnauthenticated);
  auto by_address = get("127.0.0.1", "pki");  // the certificate names localhost only
  ASSERT_FALSE(by_address.is_ok());
  EXPECT_EQ(by_address.status().code(), ErrorCode::kUnauthenticated);
}

TEST_F(ClientTest, AnAnswerBeyondTheLimitIsRefused) {
  auto reply = get("localhost", "pki", 8);
  ASSERT_FALSE(reply.is_ok());
  EXPECT_EQ(reply.status().code(), ErrorCode::kPayloadTooLarge);
}

TEST_F(ClientTest, KeepsAConnectionForTheNextRequestAndReconnectsOnceTheServerClosedIt) {
  Client client(ClientOptions{.ca_file = (dir_ / "pki" / "ci.pem").string(),
                              .timeout_ms = 10'000,
                              .idle_connections_max = 2});
  const std::string url = "https://localhost:" + std::to_string(port()) + "/healthz";
  for (int i = 0; i < 3; ++i) {
    auto reply = client.send({.method = "GET", .url = url});
    ASSERT_TRUE(reply.is_ok()) << reply.status().to_string();
    EXPECT_EQ(reply->status, 200);
  }
  EXPECT_EQ(metric("station_http_open_connections"), "1");  // one connection served all three
  // The server closes the idle connection after kKeepAliveIdleMs; the next request finds it
  // closed and goes on a fresh one.
  const auto deadline = std::chrono::steady_clock::now() + kWaitMax;
  while (metric("station_http_open_connections") != "0" &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(metric("station_http_open_connections"), "0");
  auto again = client.send({.method = "GET", .url = url});
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_EQ(again->status, 200);
}

TEST(UrlTest, ParsesHttpsAndHttpAndRefusesTheRest) {
  auto url = parse_url("https://smdp.example.com:8443/gsma/rsp2/es9plus/initiateAuthentication");
  ASSERT_TRUE(url.is_ok());
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->host, "smdp.example.com");
  EXPECT_EQ(url->port, 8443);
  EXPECT_EQ(url->target, "/gsma/rsp2/es9plus/initiateAuthentication");
  auto plain = parse_url("http://[::1]");
  ASSERT_TRUE(plain.is_ok());
  EXPECT_EQ(plain->host, "::1");
  EXPECT_EQ(plain->port, 80);
  EXPECT_EQ(plain->target, "/");
  for (const char* bad : {"ftp://x", "https://", "https://user@host/", "https://host:0/",
                          "https://host:99999/", "https://host:/", "https://ho st/",
                          "https://host/a b", "https://a:b:c/", "https://host/#frag"}) {
    EXPECT_FALSE(parse_url(bad).is_ok()) << bad;
  }
}

}  // namespace
}  // namespace station::http::test
