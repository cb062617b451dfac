#include "http/router.h"

#include <cassert>

namespace station::http {
namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> segments;
  std::size_t start = 1;  // paths start with '/'
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    segments.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return segments;
}

bool is_capture(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

void Router::add(std::string method, std::string pattern, Handler handler) {
  assert(!pattern.empty() && pattern.front() == '/');
  auto segments = split_path(pattern);
  routes_.push_back(Route{std::move(method), std::move(pattern), std::move(segments),
                          std::move(handler)});
}

std::vector<std::pair<std::string, std::string>> Router::routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& route : routes_) out.emplace_back(route.method, route.pattern);
  return out;
}

void Router::dispatch(Request& request, Responder respond) const {
  if (request.path.empty() || request.path.front() != '/') {
    return respond(problem(ErrorCode::kNotFound, "no such resource", request));
  }
  auto segments = split_path(request.path);
  std::string allowed;
  for (const auto& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    std::map<std::string, std::string> captures;
    bool matches = true;
    for (std::size_t i = 0; i < segments.size() && matches; ++i) {
      if (is_capture(route.segments[i])) {
        if (segments[i].empty()) matches = false;
        captures[route.segments[i].substr(1, route.segments[i].size() - 2)] = segments[i];
      } else {
        matches = route.segments[i] == segments[i];
      }
    }
    if (!matches) continue;
    if (route.method != request.method) {
      if (allowed.find(route.method) == std::string::npos) {
        allowed += allowed.empty() ? route.method : ", " + route.method;
      }
      continue;
    }
    request.route = route.pattern;
    request.path_params = std::move(captures);
    return route.handler(request, std::move(respond));
  }
  if (!allowed.empty()) {
    Response response = problem(ErrorCode::kMethodNotAllowed,
                                "this resource allows " + allowed, request);
    response.headers.emplace_back("Allow", allowed);
    return respond(std::move(response));
  }
  respond(problem(ErrorCode::kNotFound, "no such resource", request));
}

}  // namespace station::http
