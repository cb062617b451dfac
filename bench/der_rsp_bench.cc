// Benchmark: the typed RSP decoders (der/rsp.h: the strict DER check, then asn1c's codec) on the
// largest messages an SM-DP+ download decodes, taken from the fuzz corpus:
//   BM_DecodeAuthenticateServerResponse   the eUICC's signed1, signature and both certificates
//                                         (authenticateClient, 1.4 KB)
//   BM_DecodeProfileInstallationResult    the installation result (handleNotification, 134 B)
#include <benchmark/benchmark.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>

#include "der/rsp.h"

namespace {

namespace rsp = station::der::rsp;

template <typename Decode>
void run_decoder(benchmark::State& state, const char* sample, Decode decode) {
  const std::string path = std::string(STATION_DER_SAMPLES) + "/" + sample;
  std::ifstream file(path, std::ios::binary);
  const station::der::Bytes bytes(std::istreambuf_iterator<char>(file), {});
  if (bytes.empty()) {
    state.SkipWithError(("no sample at " + path).c_str());
    return;
  }
  for (auto _ : state) {
    auto decoded = decode(station::der::ByteView(bytes));
    if (!decoded.is_ok()) {
      state.SkipWithError(decoded.status().to_string().c_str());
      break;
    }
    benchmark::DoNotOptimize(decoded);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
}

void BM_DecodeAuthenticateServerResponse(benchmark::State& state) {
  run_decoder(state, "authenticate_server_response_ok.der", [](station::der::ByteView in) {
    return rsp::decode_authenticate_server_response(in);
  });
}
BENCHMARK(BM_DecodeAuthenticateServerResponse);

void BM_DecodeProfileInstallationResult(benchmark::State& state) {
  run_decoder(state, "profile_installation_result_ok.der", [](station::der::ByteView in) {
    return rsp::decode_profile_installation_result(in);
  });
}
BENCHMARK(BM_DecodeProfileInstallationResult);

}  // namespace

BENCHMARK_MAIN();
