// Benchmark: Station's own wrappers of the operations in the SM-DP+ bound (bench/smdp_downloads.sh)
// and of the key handling around them, one call each as the SM-DP+ makes it. Set against
// `openssl speed ecdsap256 ecdhp256` in the same run, the difference is what the wrappers add
// (contexts, key objects, the plain r || s form of SGP.22); docs/benchmarks.md has results.
//   BM_Sign, BM_Verify        ECDSA P-256 with SHA-256 over 256 bytes (an euiccSigned1's size)
//   BM_SharedSecret           ECDH P-256 (ECKA), the peer's point checked
//   BM_GenerateKey            a one-time key pair
//   BM_PublicKeyFromPoint     a key object from a received uncompressed point (otPK.EUICC.ECKA,
//                             the eUICC key a session keeps)
#include <benchmark/benchmark.h>

#include "rsp_crypto/rsp_crypto.h"

namespace {

using namespace station::rsp_crypto;

constexpr Curve kCurve = Curve::kNistP256;
const Bytes kData(256, 0x5A);

// Stops the benchmark with the failure's text; true when `result` failed.
template <typename T>
bool failed(benchmark::State& state, const T& result) {
  if (result.is_ok()) return false;
  state.SkipWithError(result.status().to_string().c_str());
  return true;
}

void BM_Sign(benchmark::State& state) {
  auto key = generate_key(kCurve);
  if (failed(state, key)) return;
  for (auto _ : state) {
    auto signature = sign(*key, kData);
    if (failed(state, signature)) break;
    benchmark::DoNotOptimize(signature);
  }
}
BENCHMARK(BM_Sign);

void BM_Verify(benchmark::State& state) {
  auto key = generate_key(kCurve);
  if (failed(state, key)) return;
  auto signature = sign(*key, kData);
  if (failed(state, signature)) return;
  for (auto _ : state) {
    station::Status verdict = verify(*key, kData, *signature);
    if (!verdict.is_ok()) {
      state.SkipWithError(verdict.to_string().c_str());
      break;
    }
  }
}
BENCHMARK(BM_Verify);

void BM_SharedSecret(benchmark::State& state) {
  auto own = generate_key(kCurve);
  auto peer = generate_key(kCurve);
  if (failed(state, own) || failed(state, peer)) return;
  for (auto _ : state) {
    auto secret = shared_secret(*own, *peer);
    if (failed(state, secret)) break;
    benchmark::DoNotOptimize(secret);
  }
}
BENCHMARK(BM_SharedSecret);

void BM_GenerateKey(benchmark::State& state) {
  for (auto _ : state) {
    auto key = generate_key(kCurve);
    if (failed(state, key)) break;
    benchmark::DoNotOptimize(key);
  }
}
BENCHMARK(BM_GenerateKey);

void BM_PublicKeyFromPoint(benchmark::State& state) {
  auto key = generate_key(kCurve);
  if (failed(state, key)) return;
  auto point = public_point(*key);
  if (failed(state, point)) return;
  for (auto _ : state) {
    auto public_key = public_key_from_point(kCurve, *point);
    if (failed(state, public_key)) break;
    benchmark::DoNotOptimize(public_key);
  }
}
BENCHMARK(BM_PublicKeyFromPoint);

}  // namespace

BENCHMARK_MAIN();
