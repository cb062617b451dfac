// The portal over HTTP on a whole App, on both storages: the sign-up with a one-time code from
// the outbox, CSRF refusals that change nothing, an idempotent top-up, the CSV export, 404 for
// an order that is not the customer's, and the headers of every page. The browser test
// (browser/portal_test.cjs) walks the same paths in Chromium on the real binary.
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "api/api_fixture.h"
#include "support/browser.h"

namespace station::testing {
namespace {

class PortalHttpTest : public ApiTest {
 protected:
  // The portal's session cookie.
  static constexpr char kCookie[] = "station_session";

  HttpReply send(Browser& browser, const std::string& method, const std::string& target,
                 const std::string& form = "") {
    return browse(app_->port(), kCookie, browser, method, target, form,
                  "application/x-www-form-urlencoded");
  }

  std::string latest_code() {
    auto messages = app_->messenger().list(1);
    EXPECT_TRUE(messages.is_ok() && !messages->empty());
    std::smatch match;
    std::string text = messages->front().text;
    return std::regex_search(text, match, std::regex("[0-9]{6}")) ? std::string(match[0]) : "";
  }

  // Signs up a new customer; returns the browser signed in.
  Browser sign_up(const std::string& phone) {
    Browser browser;
    EXPECT_EQ(send(browser, "GET", "/signin?new=1").status, 200);
    std::string csrf = form_field(browser.last.body, "csrf");
    EXPECT_EQ(csrf.size(), 64u);
    EXPECT_EQ(
        send(browser, "POST", "/signin", "name=Li+Lei&login=" + phone + "&csrf=" + csrf).status,
        200);
    std::string challenge = form_field(browser.last.body, "challenge");
    std::string visitor = browser.session;
    EXPECT_EQ(send(browser, "POST", "/signin/code",
                   "challenge=" + challenge + "&code=" + latest_code() + "&csrf=" + csrf)
                  .status,
              303);
    EXPECT_NE(browser.session, visitor) << "signing in rotates the session id";
    return browser;
  }
};

TEST_P(PortalHttpTest, PagesCarryTheSecurityHeadersAndNoInlineScript) {
  Browser browser;
  auto page = send(browser, "GET", "/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(page.header("content-security-policy").find("frame-ancestors 'none'"),
            std::string::npos);
  EXPECT_EQ(page.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(page.header("referrer-policy"), "same-origin");
  EXPECT_EQ(page.header("cache-control"), "no-store");
  EXPECT_EQ(page.header("strict-transport-security"), "");  // not served over TLS
  EXPECT_EQ(page.body.find("<script>"), std::string::npos);
  EXPECT_NE(page.body.find("<html lang=\"en\">"), std::string::npos);
  auto script = send(browser, "GET", "/static/portal.js");
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(script.header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(send(browser, "GET", "/static/nothing.js").status, 404);
  // Signed-in pages send visitors to the sign-in page.
  auto wallet = send(browser, "GET", "/wallet");
  EXPECT_EQ(wallet.status, 303);
  EXPECT_EQ(wallet.header("location"), "/signin");
}

TEST_P(PortalHttpTest, SignUpTopUpAndExportWithCsrfChecks) {
  Browser browser = sign_up("%2B8613800138000");
  auto home = send(browser, "GET", "/");
  ASSERT_EQ(home.status, 200);
  EXPECT_NE(home.body.find("CN¥0.00"), std::string::npos) << home.body;

  auto wallet = send(browser, "GET", "/wallet");
  std::string csrf = form_field(wallet.body, "csrf");
  std::string key = form_field(wallet.body, "idempotency_key");
  // Without the token, or with another: 403 and nothing moves.
  EXPECT_EQ(send(browser, "POST", "/wallet/topup", "amount=50&idempotency_key=" + key).status, 403);
  EXPECT_NE(browser.last.body.find("forbidden"), std::string::npos);
  EXPECT_EQ(send(browser, "POST", "/wallet/topup",
                 "amount=50&idempotency_key=" + key + "&csrf=" + std::string(64, 'a'))
                .status,
            403);
  EXPECT_NE(send(browser, "GET", "/").body.find("CN¥0.00"), std::string::npos);
  // With it, once, however often the form is sent.
  for (int i = 0; i < 2; ++i) {
    auto topup = send(browser, "POST", "/wallet/topup",
                      "amount=50&idempotency_key=" + key + "&csrf=" + csrf);
    EXPECT_EQ(topup.status, 303);
    EXPECT_EQ(topup.header("location"), "/wallet?done=topup");
  }
  EXPECT_NE(send(browser, "GET", "/wallet").body.find("CN¥50.00"), std::string::npos);

  auto csv = send(browser, "GET", "/transactions.csv");
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(csv.header("content-type"), "text/csv; charset=utf-8");
  EXPECT_NE(csv.body.find(",topup,credit,50.00,CNY,50.00,posted,"), std::string::npos) << csv.body;
  EXPECT_EQ(std::count(csv.body.begin(), csv.body.end(), '\n'), 2);

  // Signing out ends the session.
  EXPECT_EQ(send(browser, "POST", "/signout", "csrf=" + csrf).status, 303);
  EXPECT_EQ(send(browser, "GET", "/wallet").status, 303);
}

TEST_P(PortalHttpTest, OrdersOfOthersAndUnknownOrdersAre404) {
  Browser browser = sign_up("%2B8613800138001");
  for (std::string target :
       {"/esims/ord_x", "/esims/not-an-id", "/esims/ord_x/qr.svg", "/esims/ord_x/cancel"}) {
    auto reply = send(browser, "GET", target);
    EXPECT_EQ(reply.status, 404) << target;
    EXPECT_NE(reply.body.find("not_found"), std::string::npos);
  }
  std::string csrf = form_field(send(browser, "GET", "/wallet").body, "csrf");
  EXPECT_EQ(send(browser, "POST", "/esims/ord_x/cancel", "csrf=" + csrf).status, 404);
}

TEST_P(PortalHttpTest, SignUpAndSignInByEmailSendTheCodeByEmail) {
  Browser browser = sign_up("Li.Lei%40Example.CN");
  auto sent = app_->messenger().list(1);
  ASSERT_TRUE(sent.is_ok() && !sent->empty());
  EXPECT_EQ(sent->front().channel, messaging::Channel::kEmail);
  EXPECT_EQ(sent->front().destination, "li.lei@example.cn");
  EXPECT_EQ(sent->front().subject, "Your Station sign-in code");
  EXPECT_NE(send(browser, "GET", "/settings").body.find("li.lei@example.cn"), std::string::npos);
  std::string csrf = form_field(send(browser, "GET", "/wallet").body, "csrf");
  EXPECT_EQ(send(browser, "POST", "/signout", "csrf=" + csrf).status, 303);

  // Back with the same address typed otherwise: a sign-in, not a second account.
  Browser again;
  send(again, "GET", "/signin");
  csrf = form_field(again.last.body, "csrf");
  auto asked = send(again, "POST", "/signin", "login=LI.LEI%40example.cn&csrf=" + csrf);
  ASSERT_EQ(asked.status, 200);
  EXPECT_NE(asked.body.find("li.lei@example.cn"), std::string::npos);
  EXPECT_EQ(send(again, "POST", "/signin/code",
                 "challenge=" + form_field(asked.body, "challenge") + "&code=" + latest_code() +
                     "&csrf=" + csrf)
                .status,
            303);
  EXPECT_NE(send(again, "GET", "/").body.find("Li Lei"), std::string::npos);

  // The same limit per address as per number: two codes went to it, three more may.
  csrf = form_field(send(again, "GET", "/wallet").body, "csrf");
  for (int i = 3; i <= 5; ++i) {
    EXPECT_EQ(send(again, "POST", "/signin", "login=li.lei%40example.cn&csrf=" + csrf).status, 200)
        << i;
  }
  EXPECT_EQ(send(again, "POST", "/signin", "login=li.lei%40example.cn&csrf=" + csrf).status, 429);
  EXPECT_EQ(send(again, "POST", "/signin", "login=not-an-address%40&csrf=" + csrf).status, 400);
}

TEST_P(PortalHttpTest, WrongCodesPastTheLimitOpenNoSession) {
  Browser browser;
  send(browser, "GET", "/signin?new=1");
  std::string csrf = form_field(browser.last.body, "csrf");
  send(browser, "POST", "/signin", "name=Han&login=%2B8613800138002&csrf=" + csrf);
  std::string challenge = form_field(browser.last.body, "challenge");
  std::string right = latest_code();
  std::string wrong = right == "000000" ? "111111" : "000000";
  for (int attempt = 1; attempt <= 5; ++attempt) {
    int status = send(browser, "POST", "/signin/code",
                      "challenge=" + challenge + "&code=" + wrong + "&csrf=" + csrf)
                     .status;
    EXPECT_EQ(status, attempt < 5 ? 400 : 429) << attempt;
  }
  auto late = send(browser, "POST", "/signin/code",
                   "challenge=" + challenge + "&code=" + right + "&csrf=" + csrf);
  EXPECT_EQ(late.status, 429);
  EXPECT_EQ(late.header("set-cookie"), "");
  EXPECT_EQ(send(browser, "GET", "/wallet").status, 303);
}

INSTANTIATE_TEST_SUITE_P(Engines, PortalHttpTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const auto& test_info) {
                           return std::string(storage::testing::engine_name(test_info.param));
                         });

}  // namespace
}  // namespace station::testing
