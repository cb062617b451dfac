// The operator console over HTTP on a whole App, on both storages: staff sign-in (session id
// rotated, CSRF checked, wrong passwords past the limit lock the account), a subscriber's
// session opening nothing, roles (403 without the page's data), and the console's changes —
// an identity approved, a plan created, a profile file imported — in the audit log with the
// staff user as actor. The browser test (browser/console_test.cjs) walks the same pages in
// Chromium on the real binary.
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "api/api_fixture.h"
#include "auth/audit.h"
#include "auth/staff.h"
#include "support/browser.h"
#include "web/forms.h"
#include "web/sessions.h"

namespace station::testing {
namespace {

constexpr std::string_view kKey =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr std::string_view kPassword = "correct horse battery";

class ConsoleHttpTest : public ApiTest {
 protected:
  void customize(cli::AppOptions& options) override {
    auto keyring = secrets::parse_key_list(kKey);
    ASSERT_TRUE(keyring.is_ok());
    options.keyring = std::make_shared<const secrets::Keyring>(std::move(keyring).value());
    // A cheaper hash keeps the suite fast; the format and checks are the same.
    options.console.staff.cost.log2_n = 10;
  }

  void add_staff(const std::string& username, auth::StaffRole role) {
    IdGenerator ids(clock_);
    auth::StaffSettings settings;
    settings.cost.log2_n = 10;
    auth::StaffAccounts staff(app_->database(), ids, clock_, settings);
    auto created = staff.create(username, role, kPassword);
    ASSERT_TRUE(created.is_ok()) << created.status().to_string();
  }

  // The console's session cookie.
  static constexpr char kCookie[] = "station_console";

  HttpReply send(Browser& browser, const std::string& method, const std::string& target,
                 const std::string& body = "",
                 const std::string& content_type = "application/x-www-form-urlencoded") {
    return browse(app_->port(), kCookie, browser, method, target, body, content_type);
  }

  // The sign-in form's CSRF token (a visitor's session is made for it).
  std::string sign_in_token(Browser& browser) {
    EXPECT_EQ(send(browser, "GET", "/console/signin").status, 200);
    return form_field(browser.last.body, "csrf");
  }

  HttpReply sign_in_as(Browser& browser, const std::string& username,
                       std::string_view password = kPassword) {
    std::string csrf = sign_in_token(browser);
    return send(
        browser, "POST", "/console/signin",
        "username=" + username + "&password=" + web::url_encode(password) + "&csrf=" + csrf);
  }

  Browser signed_in(const std::string& username) {
    Browser browser;
    EXPECT_EQ(sign_in_as(browser, username).status, 303);
    return browser;
  }

  std::string csrf_of(Browser& browser, const std::string& page) {
    EXPECT_EQ(send(browser, "GET", page).status, 200) << page;
    return form_field(browser.last.body, "csrf");
  }

  std::vector<auth::AuditEntry> audit_entries() {
    app_->flush_audit();
    auto connection = app_->database().acquire();
    EXPECT_TRUE(connection.is_ok());
    auto entries = auth::list_audit_entries(**connection, 200);
    EXPECT_TRUE(entries.is_ok());
    return entries.is_ok() ? *entries : std::vector<auth::AuditEntry>{};
  }

  bool audited(const std::string& actor, const std::string& action,
               const std::string& outcome = "succeeded") {
    for (const auto& entry : audit_entries()) {
      if (entry.actor == actor && entry.action == action && entry.outcome == outcome) return true;
    }
    return false;
  }
};

TEST_P(ConsoleHttpTest, SignInRotatesTheSessionAndSignOutEndsIt) {
  add_staff("alice", auth::StaffRole::kAdmin);
  Browser browser;
  auto home = send(browser, "GET", "/console");
  EXPECT_EQ(home.status, 303);
  EXPECT_EQ(home.header("location"), "/console/signin");
  EXPECT_EQ(send(browser, "GET", "/console/dashboard").header("location"), "/console/signin");

  std::string csrf = sign_in_token(browser);
  ASSERT_EQ(csrf.size(), 64u);
  auto page = browser.last;
  EXPECT_NE(page.header("content-security-policy").find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(page.header("x-frame-options"), "DENY");
  EXPECT_EQ(page.body.find("<script>"), std::string::npos);
  EXPECT_NE(page.header("set-cookie").find("HttpOnly"), std::string::npos);
  const std::string visitor = browser.session;

  // Without the token: 403, no session.
  auto forged = send(browser, "POST", "/console/signin",
                     "username=alice&password=" + web::url_encode(kPassword));
  EXPECT_EQ(forged.status, 403);
  EXPECT_EQ(cookie_of(forged, kCookie), "");
  // A wrong password: 401, the same page again.
  EXPECT_EQ(send(browser, "POST", "/console/signin",
                 "username=alice&password=wrong+password+1&csrf=" + csrf)
                .status,
            401);
  EXPECT_NE(browser.last.body.find("Wrong user name or password"), std::string::npos);
  // An unknown name answers alike.
  EXPECT_EQ(send(browser, "POST", "/console/signin",
                 "username=mallory&password=wrong+password+1&csrf=" + csrf)
                .status,
            401);

  auto signed_in = send(browser, "POST", "/console/signin",
                        "username=alice&password=" + web::url_encode(kPassword) + "&csrf=" + csrf);
  ASSERT_EQ(signed_in.status, 303);
  EXPECT_EQ(signed_in.header("location"), "/console/dashboard");
  EXPECT_NE(browser.session, visitor) << "signing in rotates the session id";

  auto dashboard = send(browser, "GET", "/console/dashboard");
  ASSERT_EQ(dashboard.status, 200);
  for (std::string figure :
       {"topups-today", "orders-by-state", "pool-by-state", "failed-deliveries"}) {
    EXPECT_NE(dashboard.body.find("data-testid=\"" + figure + "\""), std::string::npos) << figure;
  }
  EXPECT_NE(dashboard.body.find("alice"), std::string::npos);
  EXPECT_TRUE(audited("staff:alice", "console.sign_in"));
  EXPECT_TRUE(audited("console", "console.sign_in", "unauthenticated"));

  // The old visitor id opens nothing.
  Browser stale{visitor, {}};
  EXPECT_EQ(send(stale, "GET", "/console/dashboard").status, 303);

  std::string token = form_field(dashboard.body, "csrf");
  EXPECT_EQ(send(browser, "POST", "/console/signout", "").status, 403);
  EXPECT_EQ(send(browser, "POST", "/console/signout", "csrf=" + token).status, 303);
  EXPECT_EQ(send(browser, "GET", "/console/dashboard").status, 303);
  EXPECT_TRUE(audited("staff:alice", "console.sign_out"));
}

TEST_P(ConsoleHttpTest, WrongPasswordsPastTheLimitLockTheAccount) {
  add_staff("bob", auth::StaffRole::kSupport);
  Browser browser;
  std::string csrf = sign_in_token(browser);
  for (int attempt = 1; attempt <= 5; ++attempt) {
    int status = send(browser, "POST", "/console/signin",
                      "username=bob&password=not+the+password&csrf=" + csrf)
                     .status;
    EXPECT_EQ(status, attempt < 5 ? 401 : 429) << attempt;
  }
  // Locked: the right password opens nothing either.
  auto late = send(browser, "POST", "/console/signin",
                   "username=bob&password=" + web::url_encode(kPassword) + "&csrf=" + csrf);
  EXPECT_EQ(late.status, 429);
  EXPECT_EQ(cookie_of(late, kCookie), "");
  EXPECT_NE(late.body.find("Too many wrong passwords"), std::string::npos);
  EXPECT_EQ(send(browser, "GET", "/console/dashboard").status, 303);
  EXPECT_TRUE(audited("console", "console.sign_in", "too_many_requests"));
}

TEST_P(ConsoleHttpTest, SubscriberSessionsOpenNoConsolePage) {
  std::string customer = create_customer();
  auto id = parse_public_id("cus", customer);
  ASSERT_TRUE(id.has_value());
  web::Sessions sessions(app_->database(), clock_);
  auto session = sessions.create(web::PrincipalKind::kCustomer, *id);
  ASSERT_TRUE(session.is_ok());
  // Neither under the portal's cookie nor copied into the console's.
  for (std::string cookie : {"station_session=", "station_console="}) {
    auto reply = http_request(app_->port(), "GET", "/console/customers?q=138", "",
                              {{"Cookie", cookie + session->cookie_value}});
    EXPECT_EQ(reply.status, 303) << cookie;
    EXPECT_EQ(reply.header("location"), "/console/signin");
    EXPECT_EQ(reply.body.find("13800138000"), std::string::npos);
  }
}

TEST_P(ConsoleHttpTest, RolesOpenOnlyTheirPages) {
  add_staff("sam", auth::StaffRole::kSupport);
  add_staff("fay", auth::StaffRole::kFinance);
  Browser support = signed_in("sam");
  for (std::string target : {"/console/plans", "/console/profiles"}) {
    auto reply = send(support, "GET", target);
    EXPECT_EQ(reply.status, 403) << target;
    EXPECT_NE(reply.body.find("data-testid=\"forbidden\""), std::string::npos);
    EXPECT_EQ(reply.body.find("<table"), std::string::npos) << "no data of the page";
  }
  std::string csrf = csrf_of(support, "/console/kyc");
  EXPECT_EQ(send(support, "POST", "/console/plans",
                 "code=SNEAKY-1&name_zh=x&name_en=x&validity_days=1&price=1&currency=CNY&"
                 "active=on&csrf=" +
                     csrf)
                .status,
            403);
  EXPECT_EQ(get("/v1/plans/SNEAKY-1").status, 404) << "nothing was created";
  auto nav = send(support, "GET", "/console/dashboard");
  EXPECT_EQ(nav.body.find("href=\"/console/plans\""), std::string::npos);
  EXPECT_NE(nav.body.find("href=\"/console/kyc\""), std::string::npos);

  Browser finance = signed_in("fay");
  EXPECT_EQ(send(finance, "GET", "/console/kyc").status, 403);
  EXPECT_EQ(send(finance, "GET", "/console/outbox").status, 403);
  auto dashboard = send(finance, "GET", "/console/dashboard");
  EXPECT_NE(dashboard.body.find("data-testid=\"topups-today\""), std::string::npos);
  EXPECT_EQ(dashboard.body.find("data-testid=\"orders-by-state\""), std::string::npos);
  EXPECT_EQ(send(finance, "GET", "/console/customers?q=nobody").status, 200);
}

TEST_P(ConsoleHttpTest, ChangesAreMadeThroughTheDomainsAndAuditedAsTheStaffUser) {
  add_staff("alice", auth::StaffRole::kAdmin);
  std::string customer = create_customer();
  ASSERT_EQ(topup(customer, 5000, "console-topup-1").status, 201);
  ASSERT_EQ(post("/v1/customers/" + customer + "/identity",
                 {{"document_type", "passport"},
                  {"document_number", "E98765432"},
                  {"full_name", "李雷"},
                  {"date_of_birth", "1990-02-28"},
                  {"nationality", "CN"}},
                 "")
                .status,
            201);
  Browser browser = signed_in("alice");

  // Dashboard: today's top-up.
  auto dashboard = send(browser, "GET", "/console/dashboard");
  EXPECT_NE(dashboard.body.find("CN¥50.00"), std::string::npos);

  // Search by phone ending, email, id and name; the detail page.
  for (const std::string& query : {std::string("138000"), std::string("LI.LEI%40example.com"),
                                   customer, std::string("%E6%9D%8E")}) {
    auto found = send(browser, "GET", "/console/customers?q=" + query);
    EXPECT_EQ(found.status, 200);
    EXPECT_NE(found.body.find("/console/customers/" + customer), std::string::npos) << query;
  }
  EXPECT_NE(send(browser, "GET", "/console/customers?q=nobody").body.find("no-customers"),
            std::string::npos);
  auto detail = send(browser, "GET", "/console/customers/" + customer);
  ASSERT_EQ(detail.status, 200);
  EXPECT_NE(detail.body.find("CN¥50.00"), std::string::npos);
  EXPECT_NE(detail.body.find("customer.create"), std::string::npos) << "the audit trail";
  EXPECT_EQ(detail.body.find("E98765432"), std::string::npos) << "never the document number";
  EXPECT_EQ(send(browser, "GET", "/console/customers/cus_nothing").status, 404);

  // Approve the identity from the queue.
  auto queue = send(browser, "GET", "/console/kyc");
  ASSERT_NE(queue.body.find("/console/kyc/" + customer + "/approve"), std::string::npos);
  std::string csrf = form_field(queue.body, "csrf");
  EXPECT_EQ(send(browser, "POST", "/console/kyc/" + customer + "/approve", "").status, 403);
  EXPECT_EQ(get("/v1/customers/" + customer + "/identity").json()["state"], "pending");
  auto approved = send(browser, "POST", "/console/kyc/" + customer + "/approve", "csrf=" + csrf);
  EXPECT_EQ(approved.status, 303);
  EXPECT_EQ(get("/v1/customers/" + customer + "/identity").json()["state"], "verified");
  EXPECT_TRUE(audited("staff:alice", "identity.approve"));
  // Deciding twice is a conflict, not a second decision.
  EXPECT_EQ(send(browser, "POST", "/console/kyc/" + customer + "/approve", "csrf=" + csrf).status,
            409);

  // A plan: refused with the reason, then created, then changed.
  auto bad = send(browser, "POST", "/console/plans",
                  "code=CN-1GB-1D&name_zh=x&name_en=x&validity_days=0&price=1&currency=CNY&"
                  "csrf=" +
                      csrf);
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("validity_days"), std::string::npos);
  EXPECT_EQ(send(browser, "POST", "/console/plans",
                 "code=CN-1GB-1D&name_zh=%E4%B8%AD%E5%9B%BD&name_en=China+1+GB&data_mb=1024&"
                 "validity_days=1&price=3.50&currency=CNY&countries=CN&active=on&csrf=" +
                     csrf)
                .status,
            303);
  auto plan = get("/v1/plans/CN-1GB-1D");
  ASSERT_EQ(plan.status, 200);
  EXPECT_EQ(plan.json()["price_minor"], 350);
  EXPECT_EQ(send(browser, "POST", "/console/plans/CN-1GB-1D",
                 "name_zh=%E4%B8%AD%E5%9B%BD&name_en=China+1+GB&data_mb=&validity_days=2&"
                 "price=4&currency=CNY&countries=CN&csrf=" +
                     csrf)
                .status,
            303);
  plan = get("/v1/plans/CN-1GB-1D");
  EXPECT_EQ(plan.json()["version"], 2);
  EXPECT_EQ(plan.json()["active"], false);
  EXPECT_TRUE(plan.json()["data_mb"].is_null());
  EXPECT_TRUE(audited("staff:alice", "plan.create"));

  // A profile file, uploaded as a browser does.
  const std::string csv =
      "iccid,imsi,ki,opc\r\n"
      "89860100000000000018,460010000000001," +
      std::string(32, 'A') + "," + std::string(32, 'B') + "\r\n";
  auto multipart = [&](const std::string& token, const std::string& file) {
    return "--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n" + token +
           "\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"pool.csv\"\r\n"
           "Content-Type: text/csv\r\n\r\n" +
           file + "\r\n--XyZ--\r\n";
  };
  const std::string type = "multipart/form-data; boundary=XyZ";
  EXPECT_EQ(send(browser, "POST", "/console/profiles", multipart("", csv), type).status, 403);
  auto refused =
      send(browser, "POST", "/console/profiles", multipart(csrf, csv + "123,456,x,y\r\n"), type);
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(refused.body.find("data-testid=\"import-problems\""), std::string::npos);
  EXPECT_EQ(get("/v1/admin/profiles/stats").json()["available"], 0) << "all or nothing";
  auto imported = send(browser, "POST", "/console/profiles", multipart(csrf, csv), type);
  EXPECT_EQ(imported.status, 200) << imported.body;
  EXPECT_NE(imported.body.find("data-testid=\"import-done\""), std::string::npos);
  EXPECT_EQ(imported.body.find(std::string(32, 'A')), std::string::npos) << "Ki is never shown";
  EXPECT_EQ(get("/v1/admin/profiles/stats").json()["available"], 1);
  EXPECT_TRUE(audited("staff:alice", "profiles.import"));
  EXPECT_TRUE(audited("staff:alice", "profiles.import", "validation_failed"));

  auto outbox = send(browser, "GET", "/console/outbox");
  EXPECT_EQ(outbox.status, 200);
  EXPECT_NE(outbox.body.find("data-testid=\"outbox-counts\""), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Engines, ConsoleHttpTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const auto& test_info) {
                           return std::string(storage::testing::engine_name(test_info.param));
                         });

}  // namespace
}  // namespace station::testing
