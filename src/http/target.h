// http/target: splits a request-target ("/v1/x%20y?limit=10&q=a+b") into its percent-decoded
// path and query parameters. A parser of client input: bounded (at most
// limits::kHttpQueryParamsMax parameters) and strict: a malformed escape, a NUL byte, or an
// encoded '/' in the path (which would let one path name two routes) is refused rather than
// guessed at. Targets that are not origin-form ("*", "http://host/x") keep their text as the
// path, so that routing answers 404.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "common/result.h"

namespace station::http {

struct Target {
  std::string path;                               // decoded; '+' stays '+'
  std::multimap<std::string, std::string> query;  // decoded; '+' is a space
};

// kMalformedRequest for a malformed %-escape, a NUL byte, an encoded '/' in the path, or too
// many query parameters. Parameters with an empty name are skipped.
Result<Target> parse_target(std::string_view target);

}  // namespace station::http
