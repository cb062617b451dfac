// web/assets: the files under src/web/{templates,messages,static}, embedded at build time.
#pragma once

#include <string_view>
#include <vector>

namespace station::web {

// The text of the embedded file at `name` (e.g. "templates/layout.html"); empty when none.
std::string_view embedded_file(std::string_view name);
// Every embedded file's name.
std::vector<std::string_view> embedded_file_names();

}  // namespace station::web
