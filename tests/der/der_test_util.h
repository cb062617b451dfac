// Shared by the DER tests: byte helpers, the SGP.26 test certificates, hex in and out.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include "der/tlv.h"

namespace station::der::test_util {

inline Bytes repeat(std::uint8_t byte, std::size_t n) { return Bytes(n, byte); }

inline std::string to_hex(ByteView bytes) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (std::uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

// Hex written by hand in a test (spaces allowed); REQUIRES: well formed.
inline Bytes from_hex(std::string_view hex) {
  Bytes out;
  int high = -1;
  for (char c : hex) {
    if (c == ' ') continue;
    const int nibble = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    if (high < 0) {
      high = nibble;
    } else {
      out.push_back(static_cast<std::uint8_t>(high << 4 | nibble));
      high = -1;
    }
  }
  return out;
}

inline Bytes read_file(const std::string& relative) {
  std::ifstream file(std::filesystem::path(STATION_RSP_SHARED_DIR) / relative, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

// A real certificate (SGP.26 DPauth, NIST P-256) for the certificate fields.
inline Bytes test_certificate() {
  return read_file("certs/DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der");
}

inline Bytes finish(Builder& builder) { return std::move(builder).finish().value(); }

// `der` with one more byte after it, and with its last byte cut.
inline Bytes with_trailing_byte(Bytes der) {
  der.push_back(0);
  return der;
}
inline Bytes truncated(const Bytes& der) { return Bytes(der.begin(), der.end() - 1); }

}  // namespace station::der::test_util
