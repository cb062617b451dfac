#include "web/i18n.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <vector>

#include "web/assets.h"

namespace station::web {

using nlohmann::json;

std::string_view language_tag(Language language) {
  return language == Language::kZhCn ? "zh-CN" : "en";
}

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// q from "q=0.8"; nullopt when malformed (the entry is then ignored).
std::optional<int> weight_per_mille(std::string_view parameter) {
  parameter = trim(parameter);
  if (parameter.size() < 3 || (parameter[0] != 'q' && parameter[0] != 'Q') || parameter[1] != '=') {
    return std::nullopt;
  }
  std::string_view value = parameter.substr(2);
  int whole = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + 1, whole);
  if (error != std::errc() || whole > 1) return std::nullopt;
  int per_mille = whole * 1000;
  if (value.size() > 1) {
    if (value[1] != '.' || value.size() > 5) return std::nullopt;
    int scale = 100;
    for (char c : value.substr(2)) {
      if (c < '0' || c > '9') return std::nullopt;
      per_mille += (c - '0') * scale;
      scale /= 10;
    }
  }
  if (per_mille > 1000) return std::nullopt;
  return per_mille;
}

constexpr std::size_t kAcceptLanguageEntriesMax = 32;

Status check_catalogue(const json& messages, std::string_view tag) {
  if (!messages.is_object() || messages.empty()) {
    return Status(ErrorCode::kInternal, fmt::format("messages/{}.json is not an object", tag));
  }
  for (const auto& [key, value] : messages.items()) {
    if (!value.is_string()) {
      return Status(ErrorCode::kInternal,
                    fmt::format("messages/{}.json: '{}' is not a string", tag, key));
    }
  }
  return Status::ok();
}

}  // namespace

std::optional<Language> parse_language(std::string_view tag) {
  std::string text = lower(trim(tag));
  if (text == "zh" || text.starts_with("zh-")) {
    // Traditional-script tags are not Simplified Chinese readers' first choice, but the portal
    // has no Traditional catalogue and they read Simplified better than English.
    return Language::kZhCn;
  }
  if (text == "en" || text.starts_with("en-")) return Language::kEn;
  return std::nullopt;
}

Language negotiate_language(std::optional<std::string_view> accept_language) {
  if (!accept_language) return Language::kEn;
  std::string_view rest = *accept_language;
  std::optional<Language> best;
  int best_weight = 0;
  for (std::size_t entries = 0; !rest.empty() && entries < kAcceptLanguageEntriesMax; ++entries) {
    std::size_t comma = rest.find(',');
    std::string_view entry = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    std::size_t semicolon = entry.find(';');
    auto language = parse_language(entry.substr(0, semicolon));
    int weight = 1000;
    if (semicolon != std::string_view::npos) {
      auto parsed = weight_per_mille(entry.substr(semicolon + 1));
      if (!parsed) continue;
      weight = *parsed;
    }
    if (language && weight > best_weight) {
      best = language;
      best_weight = weight;
    }
  }
  return best.value_or(Language::kEn);
}

Result<Catalogue> Catalogue::from_json(const json& zh_cn, const json& en) {
  STATION_RETURN_IF_ERROR(check_catalogue(zh_cn, "zh-CN"));
  STATION_RETURN_IF_ERROR(check_catalogue(en, "en"));
  for (const auto& [first, second, tag] :
       {std::tuple(&zh_cn, &en, "en"), std::tuple(&en, &zh_cn, "zh-CN")}) {
    for (const auto& item : first->items()) {
      if (!second->contains(item.key())) {
        return Status(ErrorCode::kInternal,
                      fmt::format("messages/{}.json lacks '{}'", tag, item.key()));
      }
    }
  }
  Catalogue catalogue;
  catalogue.zh_cn_ = zh_cn;
  catalogue.en_ = en;
  return catalogue;
}

Result<Catalogue> Catalogue::load() {
  // The portal's messages (messages/<tag>.json) and the console's (messages/console.<tag>.json)
  // make one catalogue; a key in both files is an error rather than a silent override.
  auto read = [](std::string_view tag) -> Result<json> {
    json merged = json::object();
    for (const std::string& file : {std::string(tag), fmt::format("console.{}", tag)}) {
      json part = json::parse(embedded_file(fmt::format("messages/{}.json", file)), nullptr,
                              /*allow_exceptions=*/false);
      STATION_RETURN_IF_ERROR(check_catalogue(part, file));
      for (const auto& [key, value] : part.items()) {
        if (merged.contains(key)) {
          return Status(ErrorCode::kInternal,
                        fmt::format("messages/{}.json: '{}' is defined twice", file, key));
        }
        merged[key] = value;
      }
    }
    return merged;
  };
  STATION_ASSIGN_OR_RETURN(json zh_cn, read("zh-CN"));
  STATION_ASSIGN_OR_RETURN(json en, read("en"));
  return from_json(zh_cn, en);
}

const json& Catalogue::messages(Language language) const {
  return language == Language::kZhCn ? zh_cn_ : en_;
}

std::string Catalogue::text(Language language, std::string_view key) const {
  const json& messages = this->messages(language);
  auto it = messages.find(std::string(key));
  return it == messages.end() ? std::string(key) : it->get<std::string>();
}

std::string Catalogue::format(Language language, std::string_view key,
                              const std::map<std::string, std::string>& values) const {
  std::string out = text(language, key);
  for (const auto& [name, value] : values) {
    std::string placeholder = "{" + name + "}";
    for (std::size_t at = out.find(placeholder); at != std::string::npos;
         at = out.find(placeholder, at + value.size())) {
      out.replace(at, placeholder.size(), value);
    }
  }
  return out;
}

namespace {

struct Symbols {
  std::string_view code;
  std::string_view zh_cn;
  std::string_view en;
};

// CLDR's symbols for the currencies Station knows that have one in these languages.
constexpr std::array kSymbols = {
    Symbols{"CNY", "¥", "CN¥"},   Symbols{"USD", "US$", "$"}, Symbols{"EUR", "€", "€"},
    Symbols{"GBP", "£", "£"},     Symbols{"JPY", "JP¥", "¥"}, Symbols{"HKD", "HK$", "HK$"},
    Symbols{"TWD", "NT$", "NT$"}, Symbols{"KRW", "￦", "₩"},  Symbols{"AUD", "AU$", "A$"},
    Symbols{"CAD", "CA$", "CA$"}, Symbols{"INR", "₹", "₹"},   Symbols{"MXN", "MX$", "MX$"},
    Symbols{"NZD", "NZ$", "NZ$"}, Symbols{"BRL", "R$", "R$"}, Symbols{"VND", "₫", "₫"},
};

}  // namespace

std::string format_amount(std::int64_t amount_minor, const Currency& currency) {
  assert(currency.is_set());
  // Magnitude as unsigned, so INT64_MIN has one too.
  std::uint64_t magnitude = amount_minor < 0 ? 0 - static_cast<std::uint64_t>(amount_minor)
                                             : static_cast<std::uint64_t>(amount_minor);
  std::uint64_t scale = 1;
  for (int i = 0; i < currency.minor_digits(); ++i) scale *= 10;
  std::string whole = std::to_string(magnitude / scale);
  std::string grouped;
  for (std::size_t i = 0; i < whole.size(); ++i) {
    if (i > 0 && (whole.size() - i) % 3 == 0) grouped += ',';
    grouped += whole[i];
  }
  if (currency.minor_digits() > 0) {
    grouped += fmt::format(".{:0{}}", magnitude % scale, currency.minor_digits());
  }
  return grouped;
}

std::string format_money(std::int64_t amount_minor, const Currency& currency, Language language) {
  std::string sign = amount_minor < 0 ? "-" : "";
  std::string number = format_amount(amount_minor, currency);
  auto it = std::find_if(kSymbols.begin(), kSymbols.end(),
                         [&](const Symbols& s) { return s.code == currency.code(); });
  if (it == kSymbols.end()) return fmt::format("{}{}\u00a0{}", sign, currency.code(), number);
  return sign + std::string(language == Language::kZhCn ? it->zh_cn : it->en) + number;
}

Result<std::int64_t> parse_amount(std::string_view text, const Currency& currency,
                                  std::int64_t max_minor) {
  text = trim(text);
  assert(currency.is_set() && max_minor > 0);
  auto invalid = Status(ErrorCode::kValidationFailed, "the amount is not a number");
  auto too_large = Status(ErrorCode::kAmountOutOfRange, "the amount is too large");
  if (text.empty() || text.size() > 24) return invalid;
  if (text.front() == '-')
    return Status(ErrorCode::kAmountOutOfRange, "the amount must be positive");
  std::int64_t minor = 0;
  int fraction_digits = -1;  // -1: before the decimal point
  bool any_digit = false;
  for (char c : text) {
    if (c == ',' && fraction_digits < 0) continue;
    if (c == '.' && fraction_digits < 0) {
      fraction_digits = 0;
      continue;
    }
    if (c < '0' || c > '9') return invalid;
    any_digit = true;
    if (fraction_digits >= 0 && ++fraction_digits > currency.minor_digits()) {
      return Status(ErrorCode::kAmountOutOfRange, "the amount has too many decimal places");
    }
    // minor stays within [0, max_minor], so nothing here can overflow.
    if (minor > (max_minor - (c - '0')) / 10) return too_large;
    minor = minor * 10 + (c - '0');
  }
  if (!any_digit) return invalid;
  for (int i = std::max(fraction_digits, 0); i < currency.minor_digits(); ++i) {
    if (minor > max_minor / 10) return too_large;
    minor *= 10;
  }
  if (minor <= 0) return Status(ErrorCode::kAmountOutOfRange, "the amount must be positive");
  return minor;
}

}  // namespace station::web
