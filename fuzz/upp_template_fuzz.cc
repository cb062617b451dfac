// Fuzz target: an operator's profile template (upp/upp.h), read from a file at start-up. Whatever
// ProfileTemplate::parse() accepts must give, for a good profile, a package that is itself an
// acceptable template, within kMaxUppBytes, that the virtual eUICC reads back with the same
// ICCID, IMSI, Ki and OPc (so a template Station accepts never makes packages a card refuses);
// what it refuses is refused as kValidationFailed.
// Checks abort even in optimised builds (no assert), so the corpus replay catches them too.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "euicc/profile_package.h"
#include "rsp_crypto/rsp_crypto.h"
#include "upp/upp.h"

namespace {

namespace upp = station::upp;

void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "upp_template_fuzz: %s\n", what);
    std::abort();
  }
}

constexpr char kKi[] = "000102030405060708090A0B0C0D0E0F";
constexpr char kOpc[] = "F0E1D2C3B4A5968778695A4B3C2D1E0F";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto parsed = upp::ProfileTemplate::parse(station::der::ByteView(data, size));
  if (!parsed.is_ok()) {
    check(parsed.status().code() == station::ErrorCode::kValidationFailed, "refused oddly");
    return 0;
  }
  station::inventory::ProfileSecrets secrets;
  secrets.ki = station::secrets::SecretString(kKi);
  secrets.opc = station::secrets::SecretString(kOpc);
  secrets.codes[0] = station::secrets::SecretString("1234");
  auto package =
      parsed->build(upp::UppInput{"89860118000000000018", "460011234567890", secrets, "fuzz"});
  check(package.is_ok(), "an accepted template failed to build");
  const auto bytes = station::der::as_bytes(package->view());
  check(bytes.size() <= upp::kMaxUppBytes, "package over kMaxUppBytes");
  check(upp::ProfileTemplate::parse(bytes).is_ok(), "a built package is not a template");
  auto read = station::euicc::read_profile_package(bytes);
  check(read.is_ok(), "the eUICC refuses a package of an accepted template");
  check(read->iccid == "89860118000000000018", "ICCID not read back");
  check(read->imsi == "460011234567890", "IMSI not read back");
  check(station::rsp_crypto::to_hex(read->ki.view()) == "000102030405060708090a0b0c0d0e0f",
        "Ki not read back");
  return 0;
}
