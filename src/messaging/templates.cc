#include "messaging/templates.h"

#include <array>

#include "fmt/format.h"

namespace station::messaging {
namespace {

struct Template {
  std::string_view name;
  std::string_view en;
  std::string_view zh_cn;
};

constexpr std::array kTemplates = {
    Template{"activation_code", "Your eSIM activation code: {code}",
             "您的 eSIM 激活码：{code}"},
    Template{"otp", "Your Station verification code is {code}. It expires in {minutes} minutes.",
             "您的验证码是 {code}，{minutes} 分钟内有效。"},
    Template{"topup_receipt", "Top-up received: {amount}. Balance: {balance}.",
             "充值成功：{amount}。余额：{balance}。"},
};

}  // namespace

Result<std::string> render(std::string_view template_name, std::string_view language,
                           const std::map<std::string, std::string, std::less<>>& values) {
  const Template* found = nullptr;
  for (const auto& entry : kTemplates) {
    if (entry.name == template_name) found = &entry;
  }
  if (found == nullptr) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("no message template '{}'", template_name));
  }
  const std::string_view text = language == "zh-CN" ? found->zh_cn : found->en;
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t open = text.find('{', i);
    if (open == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    const std::size_t close = text.find('}', open);
    out.append(text.substr(i, open - i));
    const std::string_view key = text.substr(open + 1, close - open - 1);
    const auto value = values.find(key);
    if (value == values.end()) {
      return Status(ErrorCode::kValidationFailed,
                    fmt::format("template '{}' needs a value for {{{}}}", template_name, key));
    }
    out.append(value->second);
    i = close + 1;
  }
  return out;
}

}  // namespace station::messaging
