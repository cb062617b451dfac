// http/router: maps method + path pattern to a handler. Patterns are literal segments and
// `{name}` captures, e.g. "/v1/customers/{id}/wallet"; a capture matches one non-empty segment.
// The first route registered that matches wins, so register literals before captures that
// overlap them. A path that matches a pattern under another method gets 405 with Allow (the
// methods in registration order); no match gets 404; both as problem+json.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"

namespace station::http {

class Router {
 public:
  void add(std::string method, std::string pattern, Handler handler);

  // Fills request.path_params and request.route, then calls the handler; or answers 404/405.
  void dispatch(Request& request, Responder respond) const;

  // (method, pattern) of every route, in registration order.
  std::vector<std::pair<std::string, std::string>> routes() const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace station::http
