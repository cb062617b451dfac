// Fuzz target: what an LPA (or a bridged third-party LPA) sends the virtual eUICC — command APDUs
// (channels, SELECT, STORE DATA chaining, GET RESPONSE) carrying ES10 requests that reach the
// ISD-R's parsers (AuthenticateServer, PrepareDownload, the Bound Profile Package pieces, ES10c).
// Input: APDUs back to back, each preceded by its length (two bytes, big-endian); the card is first
// given a channel and the ISD-R selected, so most inputs reach the ES10 layer. Every response must
// end in a status word and stay within the card's answer limit.
#include <cassert>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>

#include <unistd.h>

#include "common/clock.h"
#include "euicc/apdu.h"
#include "euicc/card.h"
#include "euicc/euicc.h"
#include "euicc/state.h"
#include "rsp_crypto/pki.h"

namespace {

using namespace station;

// One eUICC for the whole run: its state file lives in a temporary folder.
struct Fixture {
  Fixture() {
    dir =
        std::filesystem::temp_directory_path() / ("euicc_apdu_fuzz_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    auto pki = rsp_crypto::create_test_pki({});
    assert(pki.is_ok());
    auto written = rsp_crypto::write_test_pki(*pki, (dir / "pki").string(), false);
    assert(written.is_ok());
    (void)written;
    auto created = euicc::StateFile::create((dir / "euicc.json").string(), (dir / "pki").string());
    assert(created.is_ok());
    state = std::make_unique<euicc::StateFile>(std::move(*created));
    isd_r = std::make_unique<euicc::Euicc>(*state, clock);
    card = std::make_unique<euicc::VirtualCard>(*isd_r);
  }
  ~Fixture() { std::filesystem::remove_all(dir); }
  std::filesystem::path dir;
  SystemClock clock;
  std::unique_ptr<euicc::StateFile> state;
  std::unique_ptr<euicc::Euicc> isd_r;
  std::unique_ptr<euicc::VirtualCard> card;
};

void check(const euicc::Bytes& response) {
  assert(response.size() >= 2);
  assert(response.size() <= euicc::kMaxResponseChunk + 2);
  (void)response;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture fixture;
  euicc::VirtualCard& card = *fixture.card;
  card.reset();
  const std::uint8_t open[] = {0x00, 0x70, 0x00, 0x00, 0x01};
  check(card.transmit(open));
  check(card.transmit(euicc::encode_command(
      {.cla = 0x01,
       .ins = euicc::kInsSelect,
       .p1 = 0x04,
       .p2 = 0x00,
       .data = euicc::Bytes(euicc::kIsdRAid.begin(), euicc::kIsdRAid.end())})));
  std::span<const std::uint8_t> rest(data, size);
  while (rest.size() >= 2) {
    const std::size_t length = std::min<std::size_t>(rest[0] << 8 | rest[1], rest.size() - 2);
    check(card.transmit(rest.subspan(2, length)));
    rest = rest.subspan(2 + length);
  }
  return 0;
}
