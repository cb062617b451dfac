// messaging/templates: the SMS texts Station sends, in zh-CN and en.
//
// All texts live in templates.cc, one table, so translators edit one place. Placeholders are
// {name}; render() fails when a placeholder has no value, so a half-filled SMS is never sent.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "common/result.h"

namespace station::messaging {

// Languages: "zh-CN" and "en"; any other (or empty) falls back to "en".
Result<std::string> render(std::string_view template_name, std::string_view language,
                           const std::map<std::string, std::string, std::less<>>& values);

}  // namespace station::messaging
