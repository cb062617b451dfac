// `station pki init DIR`: a private test PKI with the GSMA SGP.22 certificate profiles (CI, EUM,
// a virtual eUICC, SM-DP+ DPauth/DPpb/DPtls), for labs and private networks. The files are
// described in rsp_crypto/pki.h; private keys are written with mode 0600.
#include <fmt/format.h>

#include <memory>
#include <string>

#include "cli/commands.h"
#include "rsp_crypto/pki.h"

namespace station::cli {
namespace {

struct PkiInitFlags {
  std::string dir;
  std::string curve = "nist";
  std::string eid = std::string(rsp_crypto::kDefaultTestEid);
  std::string smdp_host = "localhost";
  bool force = false;
};

int run_pki_init(const PkiInitFlags& flags) {
  rsp_crypto::TestPkiOptions options;
  if (flags.curve == "nist" || flags.curve == "p256") {
    options.curve = rsp_crypto::Curve::kNistP256;
  } else if (flags.curve == "brainpool" || flags.curve == "brainpoolP256r1") {
    options.curve = rsp_crypto::Curve::kBrainpoolP256r1;
  } else {
    return fail(Status(ErrorCode::kValidationFailed,
                       fmt::format("unknown curve '{}' (nist or brainpool)", flags.curve)));
  }
  options.eid = flags.eid;
  options.smdp_host = flags.smdp_host;
  auto pki = rsp_crypto::create_test_pki(options);
  if (!pki.is_ok()) return fail(pki.status());
  if (Status written = rsp_crypto::write_test_pki(*pki, flags.dir, flags.force); !written.is_ok()) {
    return fail(written);
  }
  fmt::print(stderr, "Test PKI on {} written to {} (CI, EUM, eUICC {}, SM-DP+ {}).\n",
             rsp_crypto::curve_name(options.curve), flags.dir, options.eid, options.smdp_host);
  fmt::print("{}\n", flags.dir);
  return 0;
}

}  // namespace

void add_pki_command(CLI::App& app, int* exit_code) {
  auto* pki = app.add_subcommand("pki", "Test certificates for the SM-DP+ and a virtual eUICC");
  pki->require_subcommand(1);
  auto flags = std::make_shared<PkiInitFlags>();
  auto* init = pki->add_subcommand(
      "init",
      "Create a private test PKI with the SGP.22 certificate profiles: ci, eum, euicc, dp_auth, "
      "dp_pb, dp_tls (.der, .pem, .key.pem with mode 0600) and eid.txt");
  init->add_option("DIR", flags->dir, "Directory to write (created when missing)")->required();
  init->add_option("--curve", flags->curve, "nist (P-256, default) or brainpool (brainpoolP256r1)");
  init->add_option("--eid", flags->eid, "EID of the virtual eUICC (32 digits, valid check digits)");
  init->add_option("--smdp-host", flags->smdp_host,
                   "DNS name in the SM-DP+ TLS certificate (default localhost)");
  init->add_flag("--force", flags->force, "Overwrite the files of an existing PKI");
  init->callback([=] { *exit_code = run_pki_init(*flags); });
}

}  // namespace station::cli
