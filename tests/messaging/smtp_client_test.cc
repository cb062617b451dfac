// The SMTP client against a real SMTP server: tests/messaging/smtp_sink.py on Debian's
// python3-aiosmtpd, started on a free loopback port, which parses what it receives with Python's
// own email package. Checks STARTTLS with a verified certificate, AUTH, the decoded Chinese
// subject and body, and that a busy, refusing or unreachable server is retried or given up on
// as the outbox promises.
#include "messaging/smtp_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/limits.h"
#include "peer_process.h"
#include "schema/migrations.h"
#include "storage/scratch_database.h"

namespace station::messaging {
namespace {

namespace fs = std::filesystem;
using storage::testing::Engine;

constexpr std::string_view kUser = "station";
constexpr std::string_view kPassword = "s3cret-Pass";

using testing::eventually;

struct SinkOptions {
  bool tls = false;
  bool auth = false;
};

class SmtpSink {
 public:
  SmtpSink(fs::path directory, SinkOptions options)
      : directory_(std::move(directory)), process_(arguments(options), directory_ / "ready") {}

  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(process_.port()); }
  std::string ca_file() const { return (directory_ / "cert.pem").string(); }
  std::vector<nlohmann::json> received() const {
    return testing::read_json_lines(directory_ / "received.jsonl");
  }

 private:
  std::vector<std::string> arguments(SinkOptions options) {
    fs::create_directories(directory_);
    std::vector<std::string> args = {STATION_DEBIAN_PYTHON,
                                     STATION_SMTP_SINK,
                                     "--ready",
                                     (directory_ / "ready").string(),
                                     "--log",
                                     (directory_ / "received.jsonl").string(),
                                     "--seconds",
                                     "120"};
    if (options.tls) args.insert(args.end(), {"--tls-dir", directory_.string()});
    if (options.auth) {
      args.insert(args.end(), {"--user", std::string(kUser), "--password", std::string(kPassword)});
    }
    return args;
  }

  fs::path directory_;
  testing::PeerProcess process_;
};

// A loopback port nobody listens on (bound, then closed).
std::uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

class SmtpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = storage::testing::open_migrated(Engine::kSqlite, schema::all_migrations());
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    scratch_ = std::move(store->scratch);
    database_ = std::move(store->database);
    messenger_ = std::make_unique<Messenger>(*database_, ids_, clock_);
  }
  void TearDown() override {
    if (messenger_) messenger_->stop_sender();
    messenger_.reset();
    database_.reset();
    scratch_.reset();
  }

  fs::path sink_directory(std::string_view name) { return fs::path(scratch_->directory()) / name; }

  SmtpConfig config_for(const SmtpSink& sink, bool tls_and_auth) {
    SmtpConfig config;
    config.url = sink.url();
    config.from = "noreply@station.example";
    config.require_tls = tls_and_auth;
    if (tls_and_auth) {
      config.ca_file = sink.ca_file();
      config.username = std::string(kUser);
      config.password = std::string(kPassword);
    }
    EXPECT_TRUE(validate(config).is_ok()) << validate(config).to_string();
    return config;
  }

  Id enqueue(std::string_view to, std::string_view subject, std::string_view text) {
    auto message = messenger_->enqueue_email(to, subject, text, "zh-CN", std::nullopt);
    EXPECT_TRUE(message.is_ok()) << message.status().to_string();
    return message.is_ok() ? message->id : 0;
  }

  ManualClock clock_{1'795'000'000'000};
  IdGenerator ids_{clock_};
  std::unique_ptr<storage::testing::ScratchDatabase> scratch_;
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<Messenger> messenger_;
};

TEST_F(SmtpClientTest, DeliversChineseOverStartTlsWithAuth) {
  SmtpSink sink(sink_directory("tls"), {.tls = true, .auth = true});
  SmtpClient client(config_for(sink, true));
  const std::string subject = "Station 登录验证码：一个相当长的主题，要用不止一个编码字来承载才行";
  const Id id = enqueue("Li.Lei@Example.CN", subject, "您的验证码是 123456。\n10 分钟内有效。");
  messenger_->start_email_sender(client);
  ASSERT_TRUE(eventually([&] { return messenger_->get(id)->state == MessageState::kSubmitted; }))
      << messenger_->get(id)->error;

  const auto received = sink.received();
  ASSERT_EQ(received.size(), 1U);
  const auto& mail = received[0];
  EXPECT_TRUE(mail["tls"]);
  EXPECT_TRUE(mail["authenticated"]);
  EXPECT_TRUE(mail["seven_bit"]);
  EXPECT_EQ(mail["mail_from"], "noreply@station.example");
  EXPECT_EQ(mail["rcpt_tos"], nlohmann::json::array({"Li.Lei@example.cn"}));
  EXPECT_EQ(mail["subject"], subject);
  // Text travels in its canonical form (RFC 2045): CRLF line ends.
  EXPECT_EQ(mail["body"], "您的验证码是 123456。\r\n10 分钟内有效。");
  EXPECT_EQ(mail["headers"]["From"], "noreply@station.example");
  EXPECT_EQ(mail["headers"]["To"], "Li.Lei@example.cn");
  EXPECT_EQ(mail["headers"]["Message-ID"], "<" + messenger_->get(id)->smsc_message_id + ">");
  EXPECT_EQ(mail["headers"]["Date"], "Wed, 18 Nov 2026 11:06:40 +0000");
  EXPECT_NE(mail["raw_headers"].get<std::string>().find("Subject: =?UTF-8?B?"), std::string::npos);
}

TEST_F(SmtpClientTest, APlainRelayOnlyWhenTlsIsNotRequired) {
  SmtpSink sink(sink_directory("plain"), {});
  SmtpConfig strict = config_for(sink, false);
  strict.require_tls = true;
  const Id id = enqueue("a@example.cn", "Your code", "123456");
  SmtpClient refusing(strict);
  EXPECT_EQ(*messenger_->send_queued_email(refusing), 0U);
  EXPECT_EQ(messenger_->get(id)->state, MessageState::kQueued);
  EXPECT_TRUE(sink.received().empty());

  SmtpClient relay(config_for(sink, false));
  clock_.advance_ms(limits::kEmailRetryBaseMs);
  EXPECT_EQ(*messenger_->send_queued_email(relay), 1U);
  ASSERT_EQ(sink.received().size(), 1U);
  EXPECT_FALSE(sink.received()[0]["tls"]);
  EXPECT_EQ(sink.received()[0]["subject"], "Your code");
}

TEST_F(SmtpClientTest, AnUnreachableOrBusyServerIsRetriedARefusalIsNot) {
  SmtpSink sink(sink_directory("retry"), {.tls = true, .auth = true});
  const Id id = enqueue("a@example.cn", "s", "first");

  SmtpConfig nowhere = config_for(sink, true);
  nowhere.url = "smtp://127.0.0.1:" + std::to_string(closed_port());
  SmtpClient unreachable(nowhere);
  EXPECT_EQ(*messenger_->send_queued_email(unreachable), 0U);
  auto row = messenger_->get(id);
  EXPECT_EQ(row->state, MessageState::kQueued);
  EXPECT_EQ(row->attempts, 1);
  EXPECT_EQ(row->next_attempt_at_ms, clock_.now_unix_ms() + limits::kEmailRetryBaseMs);

  SmtpClient client(config_for(sink, true));
  clock_.advance_ms(limits::kEmailRetryBaseMs);
  EXPECT_EQ(*messenger_->send_queued_email(client), 1U);
  EXPECT_EQ(messenger_->get(id)->state, MessageState::kSubmitted);

  // 451 from the server: tried again later, not given up.
  const Id busy = enqueue("busy@example.cn", "s", "later");
  EXPECT_EQ(*messenger_->send_queued_email(client), 0U);
  row = messenger_->get(busy);
  EXPECT_EQ(row->state, MessageState::kQueued);
  EXPECT_EQ(row->attempts, 1);
  EXPECT_NE(row->error.find("451"), std::string::npos) << row->error;
  EXPECT_GT(row->next_attempt_at_ms, clock_.now_unix_ms());

  const auto received = sink.received();
  ASSERT_EQ(received.size(), 1U);
  EXPECT_EQ(received[0]["body"], "first");
}

TEST_F(SmtpClientTest, AMailboxRefusedForGoodIsUndeliverableAtOnce) {
  SmtpSink sink(sink_directory("gone"), {});
  SmtpClient client(config_for(sink, false));
  const Id gone = enqueue("gone@example.cn", "s", "never");
  const Id next = enqueue("here@example.cn", "s", "after it");
  EXPECT_EQ(*messenger_->send_queued_email(client), 1U);
  EXPECT_EQ(messenger_->get(gone)->state, MessageState::kUndeliverable);
  EXPECT_NE(messenger_->get(gone)->error.find("550"), std::string::npos);
  EXPECT_EQ(messenger_->get(next)->state, MessageState::kSubmitted);
}

TEST(SmtpConfig, RefusesWhatItCannotUseSafely) {
  SmtpConfig config;
  config.from = "noreply@station.example";
  config.url = "smtp://mail.example:587";
  EXPECT_TRUE(validate(config).is_ok());
  config.url = "smtps://mail.example";
  EXPECT_TRUE(validate(config).is_ok());
  for (std::string_view url : {"", "http://mail.example", "smtp://", "smtp://:25",
                               "smtp://user:pw@mail.example", "smtp://mail.example /x"}) {
    config.url = std::string(url);
    EXPECT_FALSE(validate(config).is_ok()) << url;
  }
  config.url = "smtp://mail.example";
  config.from = "Station <noreply@station.example>";
  EXPECT_FALSE(validate(config).is_ok());
  config.from = "noreply@station.example";
  config.password = "pw";
  EXPECT_FALSE(validate(config).is_ok());  // a password without a user name
}

}  // namespace
}  // namespace station::messaging
