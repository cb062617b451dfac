// HTTPS: the server answers over TLS 1.2+ with the certificate chain and key it is given (the
// SM-DP+'s DPtls certificate of a test PKI here), refuses clients that do not speak TLS, and
// refuses to start with a key that does not match its certificate.
#include <filesystem>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <gtest/gtest.h>

#include "rsp_crypto/pki.h"
#include "server_fixture.h"

namespace station::http::test {
namespace {

namespace net = boost::asio;
namespace fs = std::filesystem;

class TlsTest : public ServerTest {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("station-tls-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    auto pki = rsp_crypto::create_test_pki({});
    ASSERT_TRUE(pki.is_ok()) << pki.status().to_string();
    ASSERT_TRUE(rsp_crypto::write_test_pki(*pki, dir_.string(), false).is_ok());
  }
  void TearDown() override {
    ServerTest::TearDown();
    fs::remove_all(dir_);
  }
  ServerOptions tls_options() {
    auto options = test_options();
    options.tls = TlsFiles{(dir_ / "dp_tls.pem").string(), (dir_ / "dp_tls.key.pem").string()};
    return options;
  }
  station::testing::TlsTrust trust() { return {(dir_ / "ci.pem").string(), "localhost"}; }

  fs::path dir_;
};

TEST_F(TlsTest, AnswersOverTlsWithTheConfiguredCertificate) {
  start(tls_options());
  auto reply = station::testing::https_request(port(), trust(), "GET", "/hello/tls");
  EXPECT_EQ(reply.status, 200);
  EXPECT_NE(reply.body.find("tls"), std::string::npos);
  // Keep-alive and a second request over the same server.
  EXPECT_EQ(station::testing::https_request(port(), trust(), "GET", "/healthz").status, 200);
}

TEST_F(TlsTest, ClientTrustingAnotherRootRefusesTheServer) {
  start(tls_options());
  auto other = rsp_crypto::create_test_pki({});
  ASSERT_TRUE(other.is_ok());
  fs::path other_dir = dir_ / "other";
  ASSERT_TRUE(rsp_crypto::write_test_pki(*other, other_dir.string(), false).is_ok());
  station::testing::TlsTrust wrong{(other_dir / "ci.pem").string(), "localhost"};
  EXPECT_ANY_THROW(station::testing::https_request(port(), wrong, "GET", "/healthz"));
  // The right name matters too.
  station::testing::TlsTrust wrong_name{(dir_ / "ci.pem").string(), "elsewhere.example"};
  EXPECT_ANY_THROW(station::testing::https_request(port(), wrong_name, "GET", "/healthz"));
}

TEST_F(TlsTest, PlainHttpOnTheTlsPortGetsNoAnswer) {
  start(tls_options());
  EXPECT_ANY_THROW(station::testing::http_request(port(), "GET", "/healthz"));
  // The server keeps serving TLS clients afterwards.
  EXPECT_EQ(station::testing::https_request(port(), trust(), "GET", "/healthz").status, 200);
}

TEST_F(TlsTest, Tls11IsRefused) {
  start(tls_options());
  net::io_context io;
  net::ssl::context context(net::ssl::context::tlsv11_client);
  context.set_verify_mode(net::ssl::verify_none);
  // OpenSSL 3 clients refuse TLS 1.1 themselves above security level 0; let this one try, so
  // that the refusal tested is the server's.
  SSL_CTX_set_security_level(context.native_handle(), 0);
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_1_VERSION);
  SSL_CTX_set_max_proto_version(context.native_handle(), TLS1_1_VERSION);
  boost::beast::ssl_stream<boost::beast::tcp_stream> stream(io, context);
  boost::beast::get_lowest_layer(stream).connect(
      net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port()));
  boost::system::error_code ec;
  stream.handshake(net::ssl::stream_base::client, ec);
  EXPECT_TRUE(ec);
}

TEST_F(TlsTest, KeyThatDoesNotMatchTheCertificateIsRefusedAtListen) {
  auto options = tls_options();
  options.tls->private_key_file = (dir_ / "dp_auth.key.pem").string();
  Server server(options, router_, registry_, nullptr);
  Status listened = server.listen();
  EXPECT_EQ(listened.code(), ErrorCode::kValidationFailed) << listened.to_string();

  options.tls->certificate_chain_file = (dir_ / "missing.pem").string();
  Server missing(options, router_, registry_, nullptr);
  EXPECT_EQ(missing.listen().code(), ErrorCode::kValidationFailed);
}

}  // namespace
}  // namespace station::http::test
