// web/multipart: HTML form bodies that carry a file (multipart/form-data, RFC 7578), as the
// console's profile import sends them. Strict and bounded: the whole body is in memory already
// (the server's body limit), parts are at most kMultipartPartsMax, each part's header block at
// most kMultipartHeaderBytesMax, and anything that is not a well-formed body is refused.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace station::web {

inline constexpr std::size_t kMultipartPartsMax = 16;
inline constexpr std::size_t kMultipartHeaderBytesMax = 1024;
inline constexpr std::size_t kMultipartBoundaryBytesMax = 70;  // RFC 2046 5.1.1

struct FormPart {
  std::string name;
  std::optional<std::string> filename;  // set for a file field
  std::string content_type;             // empty when the part names none
  std::string body;
};

// kUnsupportedMediaType unless `content_type` is multipart/form-data with a boundary;
// kMalformedRequest for a body that does not follow it (missing delimiters, a part without a
// form-data name, header lines beyond the bounds, more than kMultipartPartsMax parts).
Result<std::vector<FormPart>> parse_multipart_form(std::string_view content_type,
                                                   std::string_view body);

// The first part named `name`; nullptr when absent.
const FormPart* find_part(const std::vector<FormPart>& parts, std::string_view name);

}  // namespace station::web
