// catalogue/countries: ISO 3166-1 alpha-2 country codes, the form in which plans name where they
// work and identities name a nationality.
#pragma once

#include <span>
#include <string_view>

namespace station::catalogue {

// True for an officially assigned ISO 3166-1 alpha-2 code, upper case (e.g. "CN", "HK").
bool is_iso3166_alpha2(std::string_view code);
// Every officially assigned code, in alphabetical order.
std::span<const std::string_view> iso3166_alpha2_codes();

}  // namespace station::catalogue
