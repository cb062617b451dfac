#include "api/json_body.h"

#include <cmath>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "common/limits.h"

namespace station::api {
namespace {

bool is_json_media_type(std::string_view content_type) {
  auto semicolon = content_type.find(';');
  std::string_view type = content_type.substr(0, semicolon);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  std::string lower(type);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "application/json";
}

const char* json_type_name(const nlohmann::json& value) { return value.type_name(); }

}  // namespace

Result<JsonBody> JsonBody::parse(std::optional<std::string_view> content_type,
                                 std::string_view text) {
  if (!content_type || !is_json_media_type(*content_type)) {
    return Status(ErrorCode::kUnsupportedMediaType, "the body must be application/json");
  }
  if (text.size() > limits::kHttpBodyBytesMax) {
    return Status(ErrorCode::kPayloadTooLarge, "the body is too large");
  }
  // The callback enforces depth and string size and refuses duplicate keys while parsing, so an
  // over-deep or hostile document is rejected before it is built.
  std::vector<std::set<std::string>> keys_by_depth;
  std::string refusal;
  auto guard = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (static_cast<std::size_t>(depth) > limits::kJsonDepthMax) {
      refusal = "the JSON document is nested too deeply";
      throw std::invalid_argument(refusal);
    }
    if (event == Event::object_start) keys_by_depth.emplace_back();
    if (event == Event::object_end && !keys_by_depth.empty()) keys_by_depth.pop_back();
    if (event == Event::key && !keys_by_depth.empty()) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!keys_by_depth.back().insert(key).second) {
        refusal = fmt::format("member '{}' appears twice", key);
        throw std::invalid_argument(refusal);
      }
    }
    if (event == Event::value && parsed.is_string() &&
        parsed.get_ref<const std::string&>().size() > limits::kJsonStringBytesMax) {
      refusal = "a JSON string is too long";
      throw std::invalid_argument(refusal);
    }
    return true;
  };
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(text.begin(), text.end(), guard);
  } catch (const std::invalid_argument&) {
    return Status(ErrorCode::kMalformedRequest, refusal);
  } catch (const nlohmann::json::exception& error) {
    return Status(ErrorCode::kMalformedRequest,
                  fmt::format("the body is not valid JSON (at byte {})",
                              dynamic_cast<const nlohmann::json::parse_error*>(&error)
                                  ? dynamic_cast<const nlohmann::json::parse_error&>(error).byte
                                  : 0));
  }
  if (!document.is_object()) {
    return Status(ErrorCode::kMalformedRequest, "the body must be a JSON object");
  }
  return JsonBody(std::move(document));
}

Status JsonBody::only(std::initializer_list<std::string_view> known) const {
  for (const auto& item : document_.items()) {
    bool listed = false;
    for (auto name : known) listed = listed || item.key() == name;
    if (!listed) {
      return Status(ErrorCode::kValidationFailed, fmt::format("unknown member '{}'", item.key()));
    }
  }
  return Status::ok();
}

Result<std::string> JsonBody::string(std::string_view name, std::size_t max_bytes) const {
  STATION_ASSIGN_OR_RETURN(auto value, optional_string(name, max_bytes));
  if (!value) return Status(ErrorCode::kValidationFailed, fmt::format("'{}' is required", name));
  return std::move(*value);
}

Result<std::optional<std::string>> JsonBody::optional_string(std::string_view name,
                                                             std::size_t max_bytes) const {
  auto it = document_.find(name);
  if (it == document_.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("'{}' must be a string, not {}", name, json_type_name(*it)));
  }
  const auto& text = it->get_ref<const std::string&>();
  if (text.size() > max_bytes) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("'{}' must be at most {} bytes", name, max_bytes));
  }
  return std::optional<std::string>(text);
}

Result<std::optional<JsonBody>> JsonBody::optional_object(std::string_view name) const {
  auto it = document_.find(name);
  if (it == document_.end() || it->is_null()) return std::optional<JsonBody>();
  if (!it->is_object()) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("'{}' must be an object, not {}", name, json_type_name(*it)));
  }
  return std::optional<JsonBody>(JsonBody(*it));
}

Result<std::int64_t> JsonBody::integer(std::string_view name, bool is_amount) const {
  auto it = document_.find(name);
  if (it == document_.end() || it->is_null()) {
    return Status(ErrorCode::kValidationFailed, fmt::format("'{}' is required", name));
  }
  ErrorCode range_code = is_amount ? ErrorCode::kAmountOutOfRange : ErrorCode::kValidationFailed;
  if (it->is_number_integer() && !it->is_number_unsigned()) return it->get<std::int64_t>();
  if (it->is_number_unsigned()) {
    auto value = it->get<std::uint64_t>();
    if (value > static_cast<std::uint64_t>(INT64_MAX)) {
      return Status(range_code, fmt::format("'{}' is beyond the int64 range", name));
    }
    return static_cast<std::int64_t>(value);
  }
  if (it->is_number_float()) {
    // nlohmann reads integers beyond uint64 as doubles; those are out of range, not fractions.
    double value = it->get<double>();
    if (std::isfinite(value) && std::fabs(value) >= 9.2e18) {
      return Status(range_code, fmt::format("'{}' is beyond the int64 range", name));
    }
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("'{}' must be an integer in minor units", name));
  }
  return Status(ErrorCode::kValidationFailed,
                fmt::format("'{}' must be an integer, not {}", name, json_type_name(*it)));
}

}  // namespace station::api
