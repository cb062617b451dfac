// common/enum_names: the stable text of an enum whose values are 0..N-1, kept as one array of
// names per enum (stored in databases and shown in the API, so append-only, never renamed).
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace station {

template <typename Enum, std::size_t N>
std::string_view enum_name(const std::array<std::string_view, N>& names, Enum value) {
  return names.at(static_cast<std::size_t>(value));
}

template <typename Enum, std::size_t N>
std::optional<Enum> enum_from_name(const std::array<std::string_view, N>& names,
                                   std::string_view name) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

}  // namespace station
