#include "web/multipart.h"

#include <algorithm>
#include <cctype>

namespace station::web {

namespace {

Status malformed(std::string message) {
  return Status(ErrorCode::kMalformedRequest, std::move(message));
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The value of parameter `name` in "type; a=b; c="d"" (quoted values unquoted, with `\` escapes
// as RFC 9110 5.6.4 writes them); nullopt when absent or badly quoted.
std::optional<std::string> parameter(std::string_view header, std::string_view name) {
  std::size_t at = header.find(';');
  while (at != std::string_view::npos) {
    std::string_view rest = trim(header.substr(at + 1));
    std::size_t equals = rest.find('=');
    if (equals == std::string_view::npos) return std::nullopt;
    std::string_view key = trim(rest.substr(0, equals));
    std::string_view value = rest.substr(equals + 1);
    std::string out;
    std::size_t consumed = 0;
    if (!value.empty() && value.front() == '"') {
      std::size_t i = 1;
      for (; i < value.size() && value[i] != '"'; ++i) {
        if (value[i] == '\\' && i + 1 < value.size()) ++i;
        out += value[i];
      }
      if (i >= value.size()) return std::nullopt;
      consumed = i + 1;
    } else {
      consumed = std::min(value.find(';'), value.size());
      out = std::string(trim(value.substr(0, consumed)));
    }
    if (iequals(key, name)) return out;
    std::size_t next = value.find(';', consumed);
    at = next == std::string_view::npos
             ? std::string_view::npos
             : static_cast<std::size_t>(value.data() + next - header.data());
  }
  return std::nullopt;
}

Status read_headers(std::string_view block, FormPart& part) {
  bool disposition = false;
  while (!block.empty()) {
    std::size_t end = block.find("\r\n");
    std::string_view line = block.substr(0, end);
    block = end == std::string_view::npos ? std::string_view() : block.substr(end + 2);
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return malformed("a part's header line has no ':'");
    std::string_view name = trim(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "content-disposition")) {
      std::string_view type = trim(value.substr(0, value.find(';')));
      if (!iequals(type, "form-data")) return malformed("a part is not form-data");
      auto field = parameter(value, "name");
      if (!field || field->empty()) return malformed("a part has no field name");
      part.name = std::move(*field);
      part.filename = parameter(value, "filename");
      disposition = true;
    } else if (iequals(name, "content-type")) {
      part.content_type = std::string(value);
    }
  }
  if (!disposition) return malformed("a part has no Content-Disposition");
  return Status::ok();
}

}  // namespace

Result<std::vector<FormPart>> parse_multipart_form(std::string_view content_type,
                                                   std::string_view body) {
  std::string_view type = trim(content_type.substr(0, content_type.find(';')));
  if (!iequals(type, "multipart/form-data")) {
    return Status(ErrorCode::kUnsupportedMediaType, "the form must be multipart/form-data");
  }
  auto boundary = parameter(content_type, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > kMultipartBoundaryBytesMax) {
    return Status(ErrorCode::kUnsupportedMediaType, "the form's boundary is missing or too long");
  }
  const std::string delimiter = "--" + *boundary;
  const std::string next_delimiter = "\r\n" + delimiter;
  // Browsers send no preamble; a body must open with the first delimiter.
  if (!body.starts_with(delimiter)) return malformed("the body does not open with its boundary");
  std::size_t at = delimiter.size();
  std::vector<FormPart> parts;
  for (;;) {
    std::string_view rest = body.substr(at);
    if (rest.starts_with("--")) break;  // the close delimiter; an epilogue is ignored
    if (!rest.starts_with("\r\n")) return malformed("a boundary is not followed by a line end");
    if (parts.size() == kMultipartPartsMax) return malformed("the form has too many parts");
    at += 2;
    std::size_t headers_end = body.find("\r\n\r\n", at);
    if (headers_end == std::string_view::npos || headers_end - at > kMultipartHeaderBytesMax) {
      return malformed("a part's headers are missing or too long");
    }
    FormPart part;
    STATION_RETURN_IF_ERROR(read_headers(body.substr(at, headers_end - at), part));
    std::size_t content = headers_end + 4;
    std::size_t content_end = body.find(next_delimiter, content);
    if (content_end == std::string_view::npos) return malformed("a part is not closed");
    part.body = std::string(body.substr(content, content_end - content));
    parts.push_back(std::move(part));
    at = content_end + next_delimiter.size();
  }
  return parts;
}

const FormPart* find_part(const std::vector<FormPart>& parts, std::string_view name) {
  for (const auto& part : parts) {
    if (part.name == name) return &part;
  }
  return nullptr;
}

}  // namespace station::web
