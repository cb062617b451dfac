// api/json_body: strict reading of JSON request bodies.
//
// Bodies must be application/json objects, at most limits::kJsonDepthMax deep, without duplicate
// keys (which parsers resolve differently, a classic smuggling vector) and without members the
// endpoint does not know (a misspelt optional field must not be silently ignored). Every error
// names the offending member.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace station::api {

class JsonBody {
 public:
  // kUnsupportedMediaType unless Content-Type is application/json; kMalformedRequest unless the
  // text is one JSON object within the limits.
  static Result<JsonBody> parse(std::optional<std::string_view> content_type,
                                std::string_view text);

  // kValidationFailed naming the first member not in `known`.
  Status only(std::initializer_list<std::string_view> known) const;

  Result<std::string> string(std::string_view name, std::size_t max_bytes) const;
  Result<std::optional<std::string>> optional_string(std::string_view name,
                                                     std::size_t max_bytes) const;
  // An integer JSON number. Fractions and exponents are refused (kValidationFailed); integers
  // beyond int64 are kAmountOutOfRange when `is_amount`, else kValidationFailed.
  Result<std::int64_t> integer(std::string_view name, bool is_amount) const;
  // A nested object member, read by the same strict rules; nullopt when absent or null.
  Result<std::optional<JsonBody>> optional_object(std::string_view name) const;

 private:
  explicit JsonBody(nlohmann::json document) : document_(std::move(document)) {}
  nlohmann::json document_;
};

}  // namespace station::api
