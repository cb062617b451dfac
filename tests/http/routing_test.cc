// Routing, request-target decoding (the server's own parsing: percent_decode and the query
// split), X-Request-Id and the headers every answer carries.
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http/server_fixture.h"

namespace station::http::test {
namespace {

using nlohmann::json;
using station::testing::http_request;

// A GET sent as raw bytes, so targets and headers reach the server exactly as written.
HttpReply raw_get(std::uint16_t port, const std::string& target, const std::string& extra = "") {
  RawConnection connection(port);
  EXPECT_TRUE(connection.connected());
  connection.send("GET " + target + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n");
  auto reply = connection.read_reply();
  EXPECT_TRUE(reply.has_value()) << target;
  return reply.value_or(HttpReply{});
}

class RoutingTest : public ServerTest {
 protected:
  void SetUp() override { start(); }
};

TEST_F(RoutingTest, CapturesAPathSegment) {
  auto reply = http_request(port(), "GET", "/hello/ada");
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.json()["name"], "ada");
  EXPECT_EQ(reply.header("content-type"), "application/json");
}

TEST_F(RoutingTest, DecodesPathAndQuery) {
  auto reply =
      http_request(port(), "GET",
                   "/decode/Li%20Lei+%4a%4A%c3%a9?q=a+b%21&q=second&flag&=ignored&&x=%3D%26%2B"
                   "&eq=b=c&e=caf%C3%A9");
  ASSERT_EQ(reply.status, 200) << reply.body;
  json body = reply.json();
  // '+' is a space only in the query; %-escapes decode in both, with either case of hex digit.
  EXPECT_EQ(body["path"], "/decode/Li Lei+JJ\xc3\xa9");
  EXPECT_EQ(body["value"], "Li Lei+JJ\xc3\xa9");
  EXPECT_EQ(body["route"], "/decode/{value}");
  // Repeated names are all kept, in order; a name without '=' has an empty value; an empty name
  // and empty pairs are dropped; only the first '=' separates.
  json expected = json::array({{"e", "caf\xc3\xa9"},
                               {"eq", "b=c"},
                               {"flag", ""},
                               {"q", "a b!"},
                               {"q", "second"},
                               {"x", "=&+"}});
  EXPECT_EQ(body["query"], expected);
}

TEST_F(RoutingTest, EmptyQueryAndTrailingQuestionMark) {
  for (std::string target : {"/decode/v?", "/decode/v?&", "/decode/v"}) {
    auto reply = http_request(port(), "GET", target);
    ASSERT_EQ(reply.status, 200) << target;
    EXPECT_EQ(reply.json()["query"], json::array()) << target;
    EXPECT_EQ(reply.json()["path"], "/decode/v") << target;
  }
}

TEST_F(RoutingTest, MalformedPercentEncodingIsRejected) {
  for (std::string target : {
           "/decode/%zz", "/decode/%4", "/decode/abc%", "/decode/%g0", "/decode/a%00b",
           "/decode/x?q=%", "/decode/x?q=%0", "/decode/x?q=%1g", "/decode/x?q=a%00",
           "/decode/x?%00=a", "/decode/x?ok=1&bad=%ZZ",
           // An encoded '/' would let one path mean two routes; it is refused, not decoded.
           "/decode/a%2Fb", "/decode/a%2f..%2fb"}) {
    auto reply = raw_get(port(), target, "X-Request-Id: bad-target\r\n");
    SCOPED_TRACE(target);
    expect_problem(reply, 400, "malformed_request");
    expect_standard_headers(reply);
    EXPECT_EQ(reply.header("x-request-id"), "bad-target");
    EXPECT_EQ(reply.header("connection"), "close");
  }
}

TEST_F(RoutingTest, QueryParameterCountIsBounded) {
  std::string target = "/decode/v?";
  for (std::size_t i = 0; i < limits::kHttpQueryParamsMax; ++i) {
    target += "p" + std::to_string(i) + "=" + std::to_string(i) + "&";
  }
  auto at_limit = http_request(port(), "GET", target);
  ASSERT_EQ(at_limit.status, 200);
  EXPECT_EQ(at_limit.json()["query"].size(), limits::kHttpQueryParamsMax);

  auto over_limit = http_request(port(), "GET", target + "one=more");
  expect_problem(over_limit, 400, "malformed_request");
}

TEST_F(RoutingTest, UnknownPathIsNotFoundProblem) {
  auto reply = http_request(port(), "GET", "/nowhere", "", {{"X-Request-Id", "trace-404"}});
  expect_problem(reply, 404, "not_found");
  expect_standard_headers(reply);
  json problem = reply.json();
  EXPECT_EQ(problem["title"], "Not found");
  EXPECT_EQ(problem["instance"], "/nowhere");
  EXPECT_EQ(problem["request_id"], "trace-404");

  // Segment counts must match; a capture does not match an empty segment.
  for (std::string target : {"/hello", "/hello/", "/hello/x/", "/hello/x/y", "/healthz/", "/",
                             "//hello/x", "/HELLO/x"}) {
    expect_problem(http_request(port(), "GET", target), 404, "not_found");
  }
  // Targets that are not origin-form have no route either.
  expect_problem(raw_get(port(), "*"), 404, "not_found");
  expect_problem(raw_get(port(), "http://t/hello/x"), 404, "not_found");
}

TEST_F(RoutingTest, InvalidUtf8InAPathStillGivesValidJson) {
  auto reply = http_request(port(), "GET", "/nowhere%FF%FE");
  expect_problem(reply, 404, "not_found");
}

TEST_F(RoutingTest, WrongMethodIsMethodNotAllowedWithAllow) {
  auto reply = http_request(port(), "PUT", "/items/7", "{}");
  expect_problem(reply, 405, "method_not_allowed");
  expect_standard_headers(reply);
  EXPECT_EQ(reply.header("allow"), "GET, DELETE");
  EXPECT_EQ(reply.json()["instance"], "/items/7");

  auto post_only = http_request(port(), "DELETE", "/echo");
  expect_problem(post_only, 405, "method_not_allowed");
  EXPECT_EQ(post_only.header("allow"), "POST");

  // A method the server has never heard of is routed like any other.
  RawConnection connection(port());
  connection.send("BREW /items/7 HTTP/1.1\r\nHost: t\r\n\r\n");
  auto unknown = connection.read_reply();
  ASSERT_TRUE(unknown.has_value());
  expect_problem(*unknown, 405, "method_not_allowed");
  EXPECT_EQ(unknown->header("allow"), "GET, DELETE");
}

TEST_F(RoutingTest, SaneRequestIdIsPropagated) {
  for (std::string id : {std::string("a"), std::string("trace-42"), std::string("A.b_c-9"),
                         std::string(64, 'z')}) {
    auto reply = http_request(port(), "GET", "/hello/x", "", {{"X-Request-Id", id}});
    EXPECT_EQ(reply.header("x-request-id"), id);
    auto problem = http_request(port(), "GET", "/nowhere", "", {{"X-Request-Id", id}});
    EXPECT_EQ(problem.header("x-request-id"), id);
    EXPECT_EQ(problem.json()["request_id"], id);
  }
}

TEST_F(RoutingTest, OtherRequestIdsAreReplacedByGeneratedOnes) {
  static const std::regex kGenerated("[0-9a-f]{16}");
  std::set<std::string> generated;
  auto check = [&](const HttpReply& reply, const std::string& sent) {
    std::string id = reply.header("x-request-id");
    EXPECT_TRUE(std::regex_match(id, kGenerated)) << "sent '" << sent << "', got '" << id << "'";
    generated.insert(id);
  };
  for (std::string id : {std::string(), std::string("has space"), std::string("semi;colon"),
                         std::string(65, 'z'), std::string("caf\xc3\xa9"),
                         std::string("quote\"d"), std::string("tab\tbed")}) {
    check(raw_get(port(), "/hello/x", "X-Request-Id: " + id + "\r\n"), id);
  }
  check(raw_get(port(), "/hello/x"), "(none)");
  // Repeated headers are joined with ',' and so are not a sane id either.
  check(raw_get(port(), "/hello/x", "X-Request-Id: one\r\nX-Request-Id: two\r\n"), "one, two");
  EXPECT_EQ(generated.size(), 9u) << "generated ids must differ";
}

TEST_F(RoutingTest, EveryAnswerCarriesRequestIdDateAndServer) {
  expect_standard_headers(http_request(port(), "GET", "/hello/x"));
  expect_standard_headers(http_request(port(), "GET", "/nowhere"));
  expect_standard_headers(http_request(port(), "DELETE", "/echo"));
  expect_standard_headers(raw_get(port(), "/decode/%zz"));
  RawConnection garbage(port());
  garbage.send("NONSENSE\r\n\r\n");
  auto reply = garbage.read_reply();
  ASSERT_TRUE(reply.has_value());
  expect_standard_headers(*reply);
}

}  // namespace
}  // namespace station::http::test
