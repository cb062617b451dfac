// The router on its own: dispatch with a capturing responder, no server.
#include "http/router.h"

#include <optional>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace station::http {
namespace {

class RouterTest : public ::testing::Test {
 protected:
  // Dispatches `method path` and returns the answer, which every route here gives at once.
  Response dispatch(std::string method, std::string path) {
    request_ = Request{};
    request_.method = std::move(method);
    request_.path = std::move(path);
    request_.request_id = "req-1";
    std::optional<Response> answer;
    router_.dispatch(request_, [&answer](Response response) { answer = std::move(response); });
    EXPECT_TRUE(answer.has_value());
    return answer.value_or(Response{});
  }

  Handler answer_with(std::string name) {
    return [name](Request&, Responder respond) { respond(json_response(200, name)); };
  }

  Router router_;
  Request request_;
};

TEST_F(RouterTest, MatchesLiteralsAndCapturesInRegistrationOrder) {
  router_.add("GET", "/v1/customers/search", answer_with("search"));
  router_.add("GET", "/v1/customers/{id}", answer_with("one"));
  router_.add("GET", "/v1/customers/{id}/wallet/{currency}", answer_with("wallet"));

  EXPECT_EQ(dispatch("GET", "/v1/customers/search").body, "search");
  EXPECT_EQ(dispatch("GET", "/v1/customers/cus_1").body, "one");
  EXPECT_EQ(request_.route, "/v1/customers/{id}");
  EXPECT_EQ(request_.path_params.at("id"), "cus_1");

  EXPECT_EQ(dispatch("GET", "/v1/customers/cus_1/wallet/CNY").body, "wallet");
  EXPECT_EQ(request_.path_params.at("currency"), "CNY");
  EXPECT_EQ(request_.path_params.size(), 2u);
}

TEST_F(RouterTest, UnknownPathsAreNotFoundProblems) {
  router_.add("GET", "/v1/customers/{id}", answer_with("one"));
  for (const char* path :
       {"/v1/customers", "/v1/customers/", "/v1/customers/x/y", "", "*", "/V1/customers/x"}) {
    Response response = dispatch("GET", path);
    EXPECT_EQ(response.status, 404) << path;
    EXPECT_EQ(response.content_type, "application/problem+json");
    auto problem = nlohmann::json::parse(response.body);
    EXPECT_EQ(problem["code"], "not_found");
    EXPECT_EQ(problem["type"], "https://station.dev/problems/not_found");
    EXPECT_EQ(problem["instance"], path);
    EXPECT_EQ(problem["request_id"], "req-1");
    EXPECT_TRUE(request_.route.empty()) << path;
  }
}

TEST_F(RouterTest, OtherMethodsAreListedInAllowOnce) {
  router_.add("GET", "/items/{id}", answer_with("get"));
  router_.add("DELETE", "/items/{id}", answer_with("delete"));
  router_.add("GET", "/items/{other}", answer_with("shadowed"));

  Response response = dispatch("PUT", "/items/7");
  EXPECT_EQ(response.status, 405);
  ASSERT_EQ(response.headers.size(), 1u);
  EXPECT_EQ(response.headers[0], (std::pair<std::string, std::string>{"Allow", "GET, DELETE"}));
  auto problem = nlohmann::json::parse(response.body);
  EXPECT_EQ(problem["code"], "method_not_allowed");
  EXPECT_EQ(problem["status"], 405);
  EXPECT_EQ(problem["title"], "Method not allowed");
}

TEST_F(RouterTest, RoutesAreListedInRegistrationOrder) {
  router_.add("POST", "/a", answer_with("a"));
  router_.add("GET", "/b/{id}", answer_with("b"));
  auto routes = router_.routes();
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0], (std::pair<std::string, std::string>{"POST", "/a"}));
  EXPECT_EQ(routes[1], (std::pair<std::string, std::string>{"GET", "/b/{id}"}));
}

TEST(ProblemTest, CarriesEveryMemberAndRetryAfterForUnavailable) {
  Request request;
  request.path = "/v1/x";
  request.request_id = "req-9";
  Response response = problem(Status(ErrorCode::kStorageError, "database busy"), request);
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.content_type, "application/problem+json");
  auto body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["type"], "https://station.dev/problems/storage_error");
  EXPECT_EQ(body["title"], "Storage unavailable");
  EXPECT_EQ(body["status"], 503);
  EXPECT_EQ(body["detail"], "database busy");
  EXPECT_EQ(body["code"], "storage_error");
  EXPECT_EQ(body["instance"], "/v1/x");
  EXPECT_EQ(body["request_id"], "req-9");
  ASSERT_EQ(response.headers.size(), 1u);
  EXPECT_EQ(response.headers[0].first, "Retry-After");

  // A detail quoting invalid UTF-8 from a client still gives valid JSON.
  Response odd = problem(ErrorCode::kValidationFailed, "bad name '\xff'", request);
  EXPECT_TRUE(nlohmann::json::accept(odd.body)) << odd.body;
}

}  // namespace
}  // namespace station::http
