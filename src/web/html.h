// web/html: escaping of text placed into HTML. Every value a page shows goes through
// html_escape (templates do it for every {{name}}), so text from customers, the database or the
// request can never become markup, in element content or in a quoted attribute value.
#pragma once

#include <string>
#include <string_view>

namespace station::web {

// Replaces & < > " ' with character references; leaves every other byte as it is (UTF-8 passes
// through unchanged).
std::string html_escape(std::string_view text);

}  // namespace station::web
