// web/i18n: the two languages of the sites (Simplified Chinese and English), the choice of one
// from a browser's Accept-Language, the message catalogues (messages/en.json, zh-CN.json: every
// string a page shows, one flat object of key -> text per language, with the same keys), and
// money as people of each language write it.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/money.h"
#include "common/result.h"

namespace station::web {

enum class Language : std::uint8_t { kZhCn, kEn };

// "zh-CN" or "en".
std::string_view language_tag(Language language);
// The tags above, case-insensitively, and their near relatives ("zh", "zh-Hans", "en-GB").
std::optional<Language> parse_language(std::string_view tag);
// The best of the two languages for an Accept-Language header (RFC 9110 12.5.4: weights from
// q=0 to q=1, ties in order of appearance); English when the header is absent or names neither.
// At most 32 entries are read.
Language negotiate_language(std::optional<std::string_view> accept_language);

class Catalogue {
 public:
  // Reads the embedded messages/<tag>.json and messages/console.<tag>.json files (the portal's
  // and the console's messages, one key space). kInternal when one is not a flat object of
  // strings, or when the two languages do not have exactly the same keys.
  static Result<Catalogue> load();
  // From explicit texts (tests); the same checks as load().
  static Result<Catalogue> from_json(const nlohmann::json& zh_cn, const nlohmann::json& en);

  // Every message of a language, for a template's `t` member.
  const nlohmann::json& messages(Language language) const;
  // One message; the key itself when unknown (templates are checked against the catalogue by a
  // test, so this only shows up in development).
  std::string text(Language language, std::string_view key) const;
  // text() with each "{name}" replaced by its value.
  std::string format(Language language, std::string_view key,
                     const std::map<std::string, std::string>& values) const;

 private:
  nlohmann::json zh_cn_;
  nlohmann::json en_;
};

// The amount in the currency's minor digits, grouped by thousands, with the symbol usual for
// readers of that language (CLDR): CNY is "¥12.50" in zh-CN but "CN¥12.50" in English; USD is
// "$" in English and "US$" in zh-CN. Currencies without a symbol there are written "KWD 1.500".
// Negative amounts lead with "-".
std::string format_money(std::int64_t amount_minor, const Currency& currency, Language language);
// The amount without a symbol, "1,234.50", as a form field shows it.
std::string format_amount(std::int64_t amount_minor, const Currency& currency);
// Reads an amount as typed ("12", "12.5", "1,234.50") into minor units of the currency;
// kAmountOutOfRange for zero, negatives, more fraction digits than the currency has, or beyond
// `max_minor`; kValidationFailed for anything that is not a number.
Result<std::int64_t> parse_amount(std::string_view text, const Currency& currency,
                                  std::int64_t max_minor);

}  // namespace station::web
