#include "http/target.h"

#include <optional>

#include "common/limits.h"

namespace station::http {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

enum class Part { kPath, kQuery };

// nullopt for a malformed escape, a NUL byte (raw or encoded), or an encoded '/' in a path.
std::optional<std::string> percent_decode(std::string_view text, Part part) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (text.size() - i < 3) return std::nullopt;
      int high = hex_value(text[i + 1]);
      int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      c = static_cast<char>(high * 16 + low);
      i += 2;
      if (c == '/' && part == Part::kPath) return std::nullopt;
    } else if (c == '+' && part == Part::kQuery) {
      c = ' ';
    }
    if (c == '\0') return std::nullopt;
    out.push_back(c);
  }
  return out;
}

Status malformed(std::string_view why) {
  return Status(ErrorCode::kMalformedRequest, "the request target " + std::string(why));
}

}  // namespace

Result<Target> parse_target(std::string_view target) {
  auto question = target.find('?');
  auto path = percent_decode(target.substr(0, question), Part::kPath);
  if (!path) return malformed("has a malformed or forbidden percent-escape in its path");
  Target out{std::move(*path), {}};
  if (question == std::string_view::npos) return out;

  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    auto eq = pair.find('=');
    auto name = percent_decode(pair.substr(0, eq), Part::kQuery);
    auto value =
        percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), Part::kQuery);
    if (!name || !value) return malformed("has a malformed percent-escape in its query");
    if (name->empty()) continue;
    if (out.query.size() == limits::kHttpQueryParamsMax) {
      return malformed("has more than " + std::to_string(limits::kHttpQueryParamsMax) +
                       " query parameters");
    }
    out.query.emplace(std::move(*name), std::move(*value));
  }
  return out;
}

}  // namespace station::http
