// web/template: a small logic-less template language (a subset of Mustache) over a JSON context.
//
//   {{name}}            the value, HTML-escaped (strings as they are, numbers printed; a missing
//                       name is an error, so a typo never renders as an empty string)
//   {{a.b}}             a member of a member
//   {{{name}}}          the value unescaped: only for HTML the server produced (a page's body)
//   {{#name}}..{{/name}} an array: once per element; another truthy value: once, an object
//                       becoming the innermost context; false, null, "", [] or missing: never
//   {{^name}}..{{/name}} once when the value is false, null, "", [] or missing
//   {{! comment }}
// Names are looked up from the innermost context outwards; "." is the innermost context itself.
// Templates are parsed once (at start-up) and then only rendered.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace station::web {

inline constexpr std::size_t kTemplateDepthMax = 16;  // nested sections

class Template {
 public:
  // kValidationFailed naming the position of an unclosed tag, an unmatched section end, or
  // sections nested deeper than kTemplateDepthMax.
  static Result<Template> parse(std::string_view text);

  // kInternal naming the first variable the context does not hold.
  Result<std::string> render(const nlohmann::json& context) const;

  struct Node;

 private:
  explicit Template(std::shared_ptr<const std::vector<Node>> nodes) : nodes_(std::move(nodes)) {}
  std::shared_ptr<const std::vector<Node>> nodes_;
};

}  // namespace station::web
