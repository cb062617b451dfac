#include "http/router.h"

#include <algorithm>
#include <cassert>

namespace station::http {
namespace {

// "/a/b" -> {"a", "b"}; "/" -> {""}; "/a/" -> {"a", ""}.
std::vector<std::string> split_path(std::string_view path) {
  assert(!path.empty() && path.front() == '/');
  std::vector<std::string> segments;
  std::size_t start = 1;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    segments.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return segments;
}

bool is_capture(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// Fills `captures` and returns true when `segments` matches the route's pattern.
bool match(const std::vector<std::string>& pattern, const std::vector<std::string>& segments,
           std::map<std::string, std::string>& captures) {
  if (pattern.size() != segments.size()) return false;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (!is_capture(pattern[i])) {
      if (pattern[i] != segments[i]) return false;
    } else if (segments[i].empty()) {
      return false;
    } else {
      captures[pattern[i].substr(1, pattern[i].size() - 2)] = segments[i];
    }
  }
  return true;
}

}  // namespace

void Router::add(std::string method, std::string pattern, Handler handler) {
  assert(!pattern.empty() && pattern.front() == '/');
  assert(handler);
  auto segments = split_path(pattern);
  routes_.push_back(
      Route{std::move(method), std::move(pattern), std::move(segments), std::move(handler)});
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
  std::vector<std::string> allowed;
  for (const auto& route : routes_) {
    std::map<std::string, std::string> captures;
    if (!match(route.segments, segments, captures)) continue;
    if (route.method != request.method) {
      if (std::find(allowed.begin(), allowed.end(), route.method) == allowed.end()) {
        allowed.push_back(route.method);
      }
      continue;
    }
    request.route = route.pattern;
    request.path_params = std::move(captures);
    return route.handler(request, std::move(respond));
  }
  if (allowed.empty()) return respond(problem(ErrorCode::kNotFound, "no such resource", request));

  std::string allow;
  for (const auto& method : allowed) allow += (allow.empty() ? "" : ", ") + method;
  Response response =
      problem(ErrorCode::kMethodNotAllowed, "this resource allows " + allow, request);
  response.headers.emplace_back("Allow", allow);
  respond(std::move(response));
}

}  // namespace station::http
