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

station::der::Bytes read_sample(const std::string& name) {
  std::ifstream file(std::string(STATION_DER_SAMPLES) + "/" + name, std::ios::binary);
  return station::der::Bytes(std::istreambuf_iterator<char>(file), {});
}

template <typename Decode>
void run_decoder(benchmark::State& state, const char* sample, Decode decode) {
  const auto bytes = read_sample(sample);
  if (bytes.empty()) {
    state.SkipWithError("sample missing");
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
