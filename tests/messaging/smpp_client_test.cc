// The SMPP client against an independent SMSC: tests/messaging/smsc_peer.pl, written with
// Debian's Net::SMPP, started on a free loopback port. Checks what the peer received and that
// its delivery receipts settle the outbox.
#include "messaging/smpp_client.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "peer_process.h"
#include "schema/migrations.h"
#include "storage/scratch_database.h"

namespace station::messaging {
namespace {

namespace fs = std::filesystem;
using storage::testing::Engine;

using testing::eventually;

class SmscPeer {
 public:
  SmscPeer(fs::path directory, std::uint16_t port)
      : directory_(std::move(directory)),
        process_(
            {"perl", STATION_SMSC_PEER, "--port", std::to_string(port), "--ready",
             (directory_ / "ready").string(), "--log", log_path().string(), "--seconds", "120"},
            directory_ / "ready") {}

  void kill_now() { process_.kill_now(); }
  std::uint16_t port() const { return process_.port(); }
  fs::path log_path() const { return directory_ / "received.jsonl"; }
  std::vector<nlohmann::json> received() const { return testing::read_json_lines(log_path()); }

 private:
  fs::path directory_;
  testing::PeerProcess process_;
};

class SmppClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = storage::testing::open_migrated(Engine::kSqlite, schema::all_migrations());
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    scratch_ = std::move(store->scratch);
    database_ = std::move(store->database);
    messenger_ = std::make_unique<Messenger>(*database_, ids_, clock_);
    peer_ = std::make_unique<SmscPeer>(scratch_->directory(), 0);
  }
  void TearDown() override {
    if (messenger_) messenger_->stop_sender();
    client_.reset();
    messenger_.reset();
    peer_.reset();
    database_.reset();
    scratch_.reset();
  }

  void start_client() {
    SmppConfig config;
    config.host = "127.0.0.1";
    config.port = peer_->port();
    config.system_id = "station";
    config.password = "secret";
    config.source_addr = "Station";
    config.enquire_link_ms = 1'000;
    config.backoff_initial_ms = 20;
    config.backoff_max_ms = 200;
    ASSERT_TRUE(validate(config).is_ok());
    client_ = std::make_unique<SmppClient>(config, [this](const smpp::DeliveryReceipt& receipt) {
      EXPECT_TRUE(messenger_->record_receipt(receipt).is_ok());
    });
    client_->start();
    messenger_->start_sender(*client_);
  }

  MessageState state_of(Id id) { return messenger_->get(id)->state; }
  Id enqueue(std::string_view text, std::string_view language) {
    auto message = messenger_->enqueue("+8613800138000", text, language, std::nullopt);
    EXPECT_TRUE(message.is_ok());
    return message->id;
  }

  ManualClock clock_{1'795'000'000'000};
  IdGenerator ids_{clock_};
  std::unique_ptr<storage::testing::ScratchDatabase> scratch_;
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<Messenger> messenger_;
  std::unique_ptr<SmscPeer> peer_;
  std::unique_ptr<SmppClient> client_;
};

TEST_F(SmppClientTest, DeliversGsm7Ucs2AndLongTextsAndReceiptsSettleThem) {
  start_client();
  ASSERT_TRUE(eventually([&] { return client_->is_bound(); }));
  const Id english = enqueue("Your eSIM activation code: LPA:1$smdp.example$ABC-123", "en");
  const Id chinese = enqueue("您的 eSIM 激活码：LPA:1$smdp.example$ABC-123", "zh-CN");
  std::string long_text;
  for (int i = 0; i < 40; ++i) long_text += "segment" + std::to_string(i) + " ";
  const Id long_message = enqueue(long_text, "en");
  for (Id id : {english, chinese, long_message}) {
    EXPECT_TRUE(eventually([&] { return state_of(id) == MessageState::kDelivered; }))
        << "message " << id << " is " << message_state_name(state_of(id));
  }

  const auto received = peer_->received();
  ASSERT_GE(received.size(), 4U);
  EXPECT_EQ(received[0]["destination"], "8613800138000");
  EXPECT_EQ(received[0]["data_coding"], 0);
  EXPECT_EQ(received[0]["source"], "Station");
  EXPECT_EQ(received[0]["registered_delivery"], 1);
  EXPECT_EQ(received[0]["text"], "Your eSIM activation code: LPA:1$smdp.example$ABC-123");
  EXPECT_EQ(received[1]["data_coding"], 8);
  EXPECT_EQ(received[1]["text"], "您的 eSIM 激活码：LPA:1$smdp.example$ABC-123");
  std::string joined;
  int total = 0;
  for (std::size_t i = 2; i < received.size(); ++i) {
    EXPECT_EQ(received[i]["esm_class"], 0x40);
    EXPECT_EQ(received[i]["sequence"], static_cast<int>(i - 1));
    total = received[i]["total"];
    joined += received[i]["text"].get<std::string>();
  }
  EXPECT_EQ(total, static_cast<int>(received.size() - 2));
  EXPECT_EQ(joined, long_text);
  EXPECT_EQ(messenger_->get(english)->smsc_message_id, received[0]["message_id"]);
}

TEST_F(SmppClientTest, ReconnectsAfterTheSmscRestarts) {
  start_client();
  ASSERT_TRUE(eventually([&] { return client_->is_bound(); }));
  const std::uint16_t port = peer_->port();
  peer_->kill_now();
  ASSERT_TRUE(eventually([&] { return !client_->is_bound(); }));
  // Queued while the SMSC is away: stays queued (transient failures), then goes out.
  const Id message = enqueue("sent after the restart", "en");
  peer_ = std::make_unique<SmscPeer>(scratch_->directory(), port);
  ASSERT_TRUE(eventually([&] { return client_->binds() >= 2; }));
  EXPECT_TRUE(eventually([&] { return state_of(message) == MessageState::kDelivered; }))
      << message_state_name(state_of(message));
  const auto received = peer_->received();
  ASSERT_FALSE(received.empty());
  EXPECT_EQ(received.back()["text"], "sent after the restart");
}

TEST_F(SmppClientTest, WithoutABindSubmitIsRefusedAsTransient) {
  SmppConfig config;
  config.host = "127.0.0.1";
  config.port = peer_->port();
  SmppClient client(config, [](const smpp::DeliveryReceipt&) {});
  OutboxMessage message;
  message.destination = "8613800138000";
  message.text = "hi";
  EXPECT_EQ(client.submit(message).status().code(), ErrorCode::kUnavailable);
}

TEST(SmppConfigTest, RefusesFieldsBeyondTheirSmppBounds) {
  SmppConfig config;
  config.host = "127.0.0.1";
  EXPECT_TRUE(validate(config).is_ok());
  config.password = "123456789";  // 9 characters: the limit is 8
  EXPECT_FALSE(validate(config).is_ok());
  config.password = "";
  config.system_id = std::string(16, 'a');
  EXPECT_FALSE(validate(config).is_ok());
  config.system_id = "";
  config.host = "";
  EXPECT_FALSE(validate(config).is_ok());
}

}  // namespace
}  // namespace station::messaging
