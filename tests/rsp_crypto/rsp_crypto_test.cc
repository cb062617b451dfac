#include "rsp_crypto/rsp_crypto.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>

namespace station::rsp_crypto {
namespace {

Bytes hex(std::string_view text) {
  auto bytes = from_hex(text);
  EXPECT_TRUE(bytes.is_ok()) << bytes.status().to_string();
  return bytes.is_ok() ? *bytes : Bytes{};
}

std::string hex_of(const AesKey& key) { return to_hex(key); }

const Curve kCurves[] = {Curve::kNistP256, Curve::kBrainpoolP256r1};

// ---- signatures ------------------------------------------------------------------------------

TEST(RspCryptoSignature, RoundTripsOnBothCurvesAndRefusesTampering) {
  for (Curve curve : kCurves) {
    SCOPED_TRACE(std::string(curve_name(curve)));
    auto key = generate_key(curve);
    ASSERT_TRUE(key.is_ok()) << key.status().to_string();
    EXPECT_EQ(key->curve(), curve);
    const Bytes data = hex("bf3881a0a01b80105f12c6a6eb0cd1c1");
    auto signature = sign(*key, data);
    ASSERT_TRUE(signature.is_ok()) << signature.status().to_string();
    ASSERT_EQ(signature->size(), kPlainSignatureBytes);
    EXPECT_TRUE(verify(*key, data, *signature).is_ok());

    // Verifies with the public part alone, rebuilt from its uncompressed point.
    auto point = public_point(*key);
    ASSERT_TRUE(point.is_ok());
    ASSERT_EQ(point->size(), kPublicPointBytes);
    EXPECT_EQ((*point)[0], 0x04);
    auto public_only = public_key_from_point(curve, *point);
    ASSERT_TRUE(public_only.is_ok()) << public_only.status().to_string();
    EXPECT_FALSE(public_only->has_private());
    EXPECT_TRUE(verify(*public_only, data, *signature).is_ok());

    Bytes tampered_data = data;
    tampered_data[3] ^= 0x01;
    EXPECT_EQ(verify(*key, tampered_data, *signature).code(), ErrorCode::kUnauthenticated);
    Bytes tampered_signature = *signature;
    tampered_signature[40] ^= 0x80;
    EXPECT_EQ(verify(*key, data, tampered_signature).code(), ErrorCode::kUnauthenticated);
    auto other = generate_key(curve);
    ASSERT_TRUE(other.is_ok());
    EXPECT_EQ(verify(*other, data, *signature).code(), ErrorCode::kUnauthenticated);
    // Wrong sizes are malformed, not merely wrong.
    EXPECT_EQ(verify(*key, data, ByteView(signature->data(), 63)).code(),
              ErrorCode::kValidationFailed);
    EXPECT_EQ(verify(*key, data, Bytes(kPlainSignatureBytes, 0)).code(),
              ErrorCode::kValidationFailed);
    // A public key cannot sign.
    EXPECT_FALSE(sign(*public_only, data).is_ok());
  }
}

TEST(RspCryptoSignature, RefusesOversizedData) {
  auto key = generate_key(Curve::kNistP256);
  ASSERT_TRUE(key.is_ok());
  const Bytes big(kMaxSignedDataBytes + 1, 0x5a);
  EXPECT_EQ(sign(*key, big).status().code(), ErrorCode::kPayloadTooLarge);
  EXPECT_EQ(verify(*key, big, Bytes(64, 1)).code(), ErrorCode::kPayloadTooLarge);
}

TEST(RspCryptoSignature, PlainAndDerConvert) {
  // The signature of the SGP.26 DPauth NIST certificate (openssl x509 -text).
  const Bytes der =
      hex("3044022008"
          "23ee7dfa5e3dd07838e930f81bc34ae99f06cba35927fe9e502c464dc1fee3"
          "02200d2d4087db01a5382d21690ac0488b15067fb2460d336332446ca99f08a8a4ef");
  auto plain = der_to_plain(der);
  ASSERT_TRUE(plain.is_ok()) << plain.status().to_string();
  EXPECT_EQ(to_hex(*plain),
            "0823ee7dfa5e3dd07838e930f81bc34ae99f06cba35927fe9e502c464dc1fee3"
            "0d2d4087db01a5382d21690ac0488b15067fb2460d336332446ca99f08a8a4ef");
  auto back = plain_to_der(*plain);
  ASSERT_TRUE(back.is_ok());
  EXPECT_EQ(*back, der);

  // High bit set: DER adds a 0x00; small values: DER drops leading zeros, plain keeps them.
  Bytes high(kPlainSignatureBytes, 0);
  high[0] = 0x80;
  high[63] = 0x01;
  auto high_der = plain_to_der(high);
  ASSERT_TRUE(high_der.is_ok());
  EXPECT_EQ(to_hex(*high_der),
            "302602210080000000000000000000000000000000000000000000000000000000000000000201"
            "01");
  auto high_plain = der_to_plain(*high_der);
  ASSERT_TRUE(high_plain.is_ok());
  EXPECT_EQ(*high_plain, high);

  // Not DER: a redundant leading zero, trailing bytes, a BER long-form length, r of 33 bytes.
  EXPECT_FALSE(der_to_plain(hex("300702020001020101")).is_ok());
  Bytes trailing = der;
  trailing.push_back(0);
  EXPECT_FALSE(der_to_plain(trailing).is_ok());
  EXPECT_FALSE(der_to_plain(hex("30810602010102010"
                                "1"))
                   .is_ok());
  EXPECT_FALSE(der_to_plain(hex("3026022101" + std::string(64, '0') + "020101")).is_ok());
  EXPECT_FALSE(der_to_plain(Bytes(kMaxDerSignatureBytes + 1, 0x30)).is_ok());
  EXPECT_FALSE(der_to_plain(hex("3006020100020101")).is_ok());  // r = 0
  EXPECT_FALSE(plain_to_der(Bytes(65, 1)).is_ok());
}

// ---- keys and agreement ----------------------------------------------------------------------

TEST(RspCryptoKeys, PointsOffTheCurveAreRefused) {
  for (Curve curve : kCurves) {
    auto key = generate_key(curve);
    ASSERT_TRUE(key.is_ok());
    auto point = public_point(*key);
    ASSERT_TRUE(point.is_ok());
    Bytes off = *point;
    off[64] ^= 0x01;
    EXPECT_EQ(public_key_from_point(curve, off).status().code(), ErrorCode::kValidationFailed);
    Bytes compressed(point->begin(), point->begin() + 33);
    compressed[0] = 0x02;
    EXPECT_FALSE(public_key_from_point(curve, compressed).is_ok());
    Bytes wrong_prefix = *point;
    wrong_prefix[0] = 0x05;
    EXPECT_FALSE(public_key_from_point(curve, wrong_prefix).is_ok());
  }
}

TEST(RspCryptoKeys, PemRoundTrips) {
  auto key = generate_key(Curve::kBrainpoolP256r1);
  ASSERT_TRUE(key.is_ok());
  auto pem = private_key_to_pem(*key);
  ASSERT_TRUE(pem.is_ok());
  EXPECT_TRUE(pem->view().starts_with("-----BEGIN PRIVATE KEY-----"));
  auto loaded = private_key_from_pem(pem->view());
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  EXPECT_EQ(loaded->curve(), Curve::kBrainpoolP256r1);
  EXPECT_EQ(*public_point(*loaded), *public_point(*key));
  auto public_pem = public_key_to_pem(*key);
  ASSERT_TRUE(public_pem.is_ok());
  auto public_loaded = public_key_from_pem(*public_pem);
  ASSERT_TRUE(public_loaded.is_ok());
  EXPECT_EQ(*public_point(*public_loaded), *public_point(*key));
  EXPECT_FALSE(private_key_from_pem("not a key").is_ok());
  EXPECT_EQ(private_key_from_pem(std::string(kMaxPemBytes + 1, 'A')).status().code(),
            ErrorCode::kPayloadTooLarge);
}

TEST(RspCryptoKeys, EckaGivesBothSidesTheSameSecret) {
  for (Curve curve : kCurves) {
    SCOPED_TRACE(std::string(curve_name(curve)));
    auto dp = generate_key(curve);     // otSK.DP.ECKA
    auto euicc = generate_key(curve);  // otSK.EUICC.ECKA
    ASSERT_TRUE(dp.is_ok() && euicc.is_ok());
    // Each side has only the other's point, as on the wire.
    auto dp_public = public_key_from_point(curve, *public_point(*dp));
    auto euicc_public = public_key_from_point(curve, *public_point(*euicc));
    ASSERT_TRUE(dp_public.is_ok() && euicc_public.is_ok());
    auto z_dp = shared_secret(*dp, *euicc_public);
    auto z_euicc = shared_secret(*euicc, *dp_public);
    ASSERT_TRUE(z_dp.is_ok()) << z_dp.status().to_string();
    ASSERT_TRUE(z_euicc.is_ok());
    ASSERT_EQ(z_dp->size(), kSharedSecretBytes);
    EXPECT_TRUE(std::equal(z_dp->view().begin(), z_dp->view().end(), z_euicc->view().begin()));
    EXPECT_FALSE(shared_secret(*dp_public, *euicc_public).is_ok());  // no private part
  }
  auto nist = generate_key(Curve::kNistP256);
  auto brainpool = generate_key(Curve::kBrainpoolP256r1);
  ASSERT_TRUE(nist.is_ok() && brainpool.is_ok());
  EXPECT_EQ(shared_secret(*nist, *brainpool).status().code(), ErrorCode::kValidationFailed);
}

// ---- key derivation --------------------------------------------------------------------------

// Known-answer vectors: osmocom pySim tests/unittests/test_esim_bsp.py (BSP_Test and
// BSP_Test_mode51; the latter "created using hex-dumps from a log/trace of a 3rd party SM-DP+"),
// hostId 0x80 * 8, keyType 0x88, keyLength 0x10.
struct KdfVector {
  std::string_view z, eid, mcv, s_enc, s_mac;
};
constexpr KdfVector kKdfVectors[] = {
    {"8902dca391bbb22570fe60c176076246f568b1941265dff1d729e63039658089",
     "89049032123451234512345678901335", "734bc93ddb10c71c5ad13d420dc08b5b",
     "d782d575b22a38334556a3d9a1e2ae6b", "a35addc192ae8f934e2932116c7e89e7"},
    {"c9a993dd4879a8f7161f2085410edd4f9652f1df37be097ba96ba2ca6be528fe",
     "89049032123451234512345678901235", "406d507b448a699e7a36a38494debbde",
     "472f5bfadd97f21d34f3ce9b51b92751", "9ec07f5b36a13e12a991d66e294e6242"},
};

TEST(RspCryptoKdf, MatchesPublishedVectors) {
  const Bytes host_id(8, 0x80);
  for (const KdfVector& vector : kKdfVectors) {
    auto eid = eid_bytes(vector.eid);
    ASSERT_TRUE(eid.is_ok());
    auto info = session_shared_info(host_id, *eid);
    ASSERT_TRUE(info.is_ok());
    EXPECT_EQ(to_hex(*info),
              "88100880808080808080801"
              "0" +
                  std::string(vector.eid));
    auto keys = derive_session_keys(hex(vector.z), host_id, *eid);
    ASSERT_TRUE(keys.is_ok()) << keys.status().to_string();
    EXPECT_EQ(hex_of(keys->initial_mac_chaining_value), vector.mcv);
    EXPECT_EQ(hex_of(keys->s_enc), vector.s_enc);
    EXPECT_EQ(hex_of(keys->s_mac), vector.s_mac);
  }
}

// An independent computation of X9.63 (SEC 1 section 3.6.1) with plain SHA-256, not OpenSSL's
// X963KDF: K_i = SHA-256(Z || i as 4 bytes big-endian || SharedInfo).
Bytes reference_x963(const Bytes& z, const Bytes& info, std::size_t length) {
  Bytes out;
  for (std::uint32_t counter = 1; out.size() < length; ++counter) {
    Bytes input = z;
    for (int shift = 24; shift >= 0; shift -= 8) {
      input.push_back(static_cast<std::uint8_t>(counter >> shift));
    }
    input.insert(input.end(), info.begin(), info.end());
    unsigned char digest[32];
    unsigned int size = 0;
    EXPECT_EQ(EVP_Digest(input.data(), input.size(), digest, &size, EVP_sha256(), nullptr), 1);
    out.insert(out.end(), digest, digest + size);
  }
  out.resize(length);
  return out;
}

TEST(RspCryptoKdf, MatchesAnIndependentComputation) {
  const Bytes z = hex("c9a993dd4879a8f7161f2085410edd4f9652f1df37be097ba96ba2ca6be528fe");
  const Bytes info = *session_shared_info(hex("6d61686c7a656974"), *eid_bytes(kKdfVectors[1].eid));
  for (std::size_t length : {1, 32, 48, 100}) {
    auto derived = x963_kdf_sha256(z, info, length);
    ASSERT_TRUE(derived.is_ok());
    const Bytes expected = reference_x963(z, info, length);
    EXPECT_EQ(to_hex(derived->view()), to_hex(expected)) << length;
  }
}

TEST(RspCryptoKdf, RefusesBadInputs) {
  const Bytes z(32, 1);
  const Bytes eid(16, 0x89);
  EXPECT_FALSE(derive_session_keys(Bytes(31, 1), Bytes(8, 0x80), eid).is_ok());
  EXPECT_FALSE(derive_session_keys(z, Bytes{}, eid).is_ok());
  EXPECT_FALSE(derive_session_keys(z, Bytes(17, 0x80), eid).is_ok());
  EXPECT_FALSE(derive_session_keys(z, Bytes(8, 0x80), Bytes(15, 0x89)).is_ok());
  EXPECT_TRUE(derive_session_keys(z, Bytes(16, 0x80), eid).is_ok());
  EXPECT_FALSE(x963_kdf_sha256(z, Bytes{}, kMaxKdfOutputBytes + 1).is_ok());
  EXPECT_FALSE(x963_kdf_sha256(z, Bytes(kMaxSharedInfoBytes + 1, 0), 16).is_ok());
  EXPECT_EQ(eid_bytes("8904903212345123451234567890123").status().code(), ErrorCode::kInvalidEid);
  EXPECT_EQ(eid_bytes("8904903212345123451234567890123a").status().code(), ErrorCode::kInvalidEid);
}

// ---- SCP03t ----------------------------------------------------------------------------------

TEST(RspCryptoScp03t, AesCmacMatchesRfc4493) {
  const Bytes key_bytes = hex("2b7e151628aed2a6abf7158809cf4f3c");
  AesKey key{};
  std::copy(key_bytes.begin(), key_bytes.end(), key.begin());
  EXPECT_EQ(hex_of(*aes_cmac(key, Bytes{})), "bb1d6929e95937287fa37d129b756746");
  EXPECT_EQ(hex_of(*aes_cmac(key, hex("6bc1bee22e409f96e93d7e117393172a"))),
            "070a16b46b4d4144f79bdd9dd04a287c");
  EXPECT_EQ(hex_of(*aes_cmac(key, hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af"
                                      "8e5130c81c46a35ce411"))),
            "dfa66747de9ae63030ca32611497c827");
}

SessionKeys keys_of(std::string_view s_enc, std::string_view s_mac, std::string_view mcv) {
  SessionKeys keys;
  const Bytes e = hex(s_enc), m = hex(s_mac), c = hex(mcv);
  std::copy(e.begin(), e.end(), keys.s_enc.begin());
  std::copy(m.begin(), m.end(), keys.s_mac.begin());
  std::copy(c.begin(), c.end(), keys.initial_mac_chaining_value.begin());
  return keys;
}

// pySim BSP_Test_mode51.test_ciphering: segments a third-party SM-DP+ produced with the keys of
// the second KDF vector: ConfigureISDP (0x87, encrypted), StoreMetadata (0x88, MAC only), then
// ReplaceSessionKeys (0x87, encrypted); the block counter runs 1, 2, 3.
TEST(RspCryptoScp03t, MatchesThirdPartySmdpSegments) {
  const SessionKeys keys =
      keys_of("472f5bfadd97f21d34f3ce9b51b92751", "9ec07f5b36a13e12a991d66e294e6242",
              "406d507b448a699e7a36a38494debbde");
  Scp03tState dp(keys);
  Scp03tState euicc(keys);

  const Bytes configure_isdp = hex("bf2400");
  auto segment1 = protect_segment(dp, 0x87, configure_isdp);
  ASSERT_TRUE(segment1.is_ok()) << segment1.status().to_string();
  EXPECT_EQ(to_hex(*segment1), "8718f6fe031e4b9cfe87c8e1e62f3fde85c49412d7722a6a2d89");

  const Bytes metadata =
      hex("bf252d5a0a98001032547698103214910947534d415f54455354921147534d415f544553545f50524f46494c"
          "45950100");
  auto segment2 = mac_segment(dp, 0x88, metadata);
  ASSERT_TRUE(segment2.is_ok());
  EXPECT_EQ(to_hex(*segment2),
            "8838bf252d5a0a98001032547698103214910947534d415f54455354921147534d415f544553545f50"
            "524f46494c459501008a62cc9adbb5ccbc");

  const Bytes replace_keys =
      hex("bf26368010000102030405060708090a0b0c0d0e0f8110010102030405060708090a0b0c0d0e0f82100201"
          "02030405060708090a0b0c0d0e0f");
  auto segment3 = protect_segment(dp, 0x87, replace_keys);
  ASSERT_TRUE(segment3.is_ok());
  EXPECT_EQ(to_hex(*segment3),
            "8748a14c800a001992351cd46ad2945654674369701d82b7b46567652bc8fbed234939fc57fba74801"
            "5525fd6c651e9d3d1330652d42a0cfad950e912122af4ec5362d3c0bc535729c40");
  EXPECT_EQ(dp.block_counter, 4u);

  // The eUICC side reads them back, in order.
  auto read1 = unprotect_segment(euicc, 0x87, *segment1);
  ASSERT_TRUE(read1.is_ok()) << read1.status().to_string();
  EXPECT_EQ(to_hex(read1->view()), to_hex(configure_isdp));
  auto read2 = verify_mac_segment(euicc, 0x88, *segment2);
  ASSERT_TRUE(read2.is_ok());
  EXPECT_EQ(*read2, metadata);
  auto read3 = unprotect_segment(euicc, 0x87, *segment3);
  ASSERT_TRUE(read3.is_ok());
  EXPECT_EQ(to_hex(read3->view()), to_hex(replace_keys));
}

// pySim BSP_Test_mode51, after ReplaceSessionKeys (S-ENC 01 01 02 .. 0f, S-MAC 02 01 02 .. 0f,
// MCV 00 01 .. 0f, block counter from 1): the first profile segment (0x86) of 1007 bytes, the
// largest a segment holds, becomes exactly 1020 bytes with a two-byte length (82 03 f8).
constexpr std::string_view kSegment0Plaintext =
    "a048800102810101821a53494d616c6c69616e63652053616d706c652050726f66696c65830a890001234567"
    "89012341a506810084008b00a610060667810f010201060667810f010204b08201f8a0058000810101810667"
    "810f010201a207a105c60301020aa305a1038b010fa40c830a98001032547698103214a527a1098204422100"
    "26800198831a61184f10a0000000871002ff33ff01890000010050045553494da682019ea10a820442210025"
    "8002022b831b8001019000800102a406830101950108800158a40683010a95010882010a8316800101a40683"
    "010195010880015aa40683010a95010882010f830b80015ba40683010a95010882011a830a80010190008001"
    "5a970082011b8316800103a406830101950108800158a40683010a95010882010f8316800111a40683010195"
    "010880014aa40683010a95010882010f8321800103a406830101950108800158a40683010a950108840132a4"
    "068301019501088201048321800101a406830101950108800102a406830181950108800158a40683010a9501"
    "08820104831b800101900080011aa406830101950108800140a40683010a95010882010a8310800101900080"
    "015aa40683010a95010882011583158001019000800118a40683010a95010880014297008201108310800101"
    "a40683010195010880015a97008201158316800113a406830101950108800148a40683010a95010882010f83"
    "0b80015ea40683010a95010882011a83258001019000800102a010a406830101950108a40683010295010880"
    "0158a40683010a950108a33fa0058000810102a13630118001018108303030303030303082020099300d8001"
    "02810831323334353637383012800200818108313233343536373882020088a241a0058000810103a138a036"
    "3010800101810831323334ffffffff8201013010800102810830303030ffffffff820102301080010a810835"
    "363738ffffffff830101a182029ea0058000810104a18202933082028f62228202782183027ff18410a00000"
    "00871002ff33ff0189000001008b010ac60301810a62118202412183026f078b010280010988013881090829"
    "43019134876765621482044221002583026f068b010a8801b8c7022f06621a8202412183026f088b01058001"
    "21880140a507c00180c10207ff621a8202412183026f098b0105800121880148a507c00180c10207ff621682"
    "02412183026f318b0102800101880190a503c1010a62118202412183026f388b010280010e880120810d0a2e"
    "178ce73204000000000000621982044221001a83026f3b8b0108800202088800a504c10200ff621982044221"
    "00b083026f3c8b0105800206e08800a504c10200ff621282044221002683026f428b0105800126";
constexpr std::string_view kSegment0Protected =
    "868203f80fd36b066b43e53906b33263c4141d18036fcac7bde47faed79e76514d39f1f405d9785ff04badf3"
    "79a96bcf4685eb861239da34eeb213d0cd1e0d85e96e36097a52f600907e08b6f01232eb3792a00cc6b3288c"
    "c832c7f30357edfe0818d1f39ad8d55b5bd5d9c65917d0d16ee7e1421a44453714d66209bf441425bf6d153a"
    "85ba7e7406d58a4c46fb930bb14eefd6a853434619805429cbbb003bd5a56e7bceaf4666eb352ad46f47ea57"
    "2c6ad311683803db3bec4d783583858f2ecfbaec3ed780fb3e3a645b1bf5cfd1047e5862c4a8877382dabd6a"
    "ef6fa72ec6378ce7b21502d3267514b29bd589703ee7bd5b1e6d868b6b7c55006bc32406a924f44bfdb6c801"
    "d490450a54633bbd66bb0ece8b3a9be09433c537f3e3b2b8e45833365a94479b1895e9ba13387fca116565c2"
    "67b6bc1274c82510b21ac9fa77574412351468fd1eac8928c9494e5eb8a909d9372476c62e8a2b556b557a79"
    "cdb47503ba5d9fd86d1962c23b3289f37df9a05668957df34c37806359af1d8dfecedf9bbf4888be9753f2b4"
    "49ce4e5cde510572f9be4fb506f329a848c4583ac9ac710e53d512ad504f2e3769c2911c34f84ad0622c5428"
    "446d1e9c59bb6b2029f231b05ef45d3ec60fceff121ba684a023037b753f855e1067b8ad02783c04eb81ba47"
    "fcec0947bbc9661d90c6f00c0f4e6f9c22e0b25905379f8b265b436a4a74253a64c5734f956d134cf5b6c067"
    "1125b20b735f405fee1fc1941ed141734fa6856e898dc655fb91b045b3797d14b97a68ed3480ec137565d6c4"
    "d007f95ee705d452d0344ce9e9bbd0712f399ef8604f3f472b403ea64f00c969fd30a012cb8be049c5455699"
    "4117fc5f6043930107774910be5f47c780427de063a56d45400a814c86dfcc2465262baf273a6ca89e77bb8c"
    "73efe2d22d975516b80c648404b10d3f329776a21251bedf445ade24b656e8635f0d7fe39772d942d9432766"
    "efb5152c6e990123c52744f1c402962a381ff2aaddaa1bd522a9b65a229f9adcd4099475b3f9ba45161ee352"
    "06365181e1d69d263d8d27444a7c3a2d7ddbb398ac5affea28cb0373057dad7741e52adb95822fee5157ce3c"
    "0ad978c5231a219ca0726d50eeb0c69d579094a54820194aeef13a365d85c52257f51cb65c567e0cdf1ce38b"
    "80eaa4d131ab7086e303c5728cf41a25df954d60ac12400d2a2990e67dbeff866736937beb8fce526be1dd5d"
    "c5d77d00b8783b34691a3e9bda7e697eec4cfa70b25914795af23ec6d258530f71402b9230947dc99f9140b1"
    "6a54ba1291f54ef736de6711c1ae074b627dfc2fc5d5250f812b7ecd1d0f5020a3acf20ad5759cd9e761ce21"
    "882977f7db66aaba2d8f5190f6f23996af14b670ccac066c93af06a41f19d9ee712ce13fbe73b99e55401b20"
    "8b991c8ced12d34c";

TEST(RspCryptoScp03t, MatchesAThirdPartyFullSizeProfileSegment) {
  const SessionKeys keys =
      keys_of("010102030405060708090a0b0c0d0e0f", "020102030405060708090a0b0c0d0e0f",
              "000102030405060708090a0b0c0d0e0f");
  Scp03tState dp(keys);
  const Bytes plaintext = hex(kSegment0Plaintext);
  ASSERT_EQ(plaintext.size(), kMaxEncryptedSegmentPlaintext);
  auto segment = protect_segment(dp, 0x86, plaintext);
  ASSERT_TRUE(segment.is_ok()) << segment.status().to_string();
  EXPECT_EQ(segment->size(), kMaxSegmentBytes);
  EXPECT_EQ(to_hex(*segment), kSegment0Protected);

  Scp03tState euicc(keys);
  auto read = unprotect_segment(euicc, 0x86, hex(kSegment0Protected));
  ASSERT_TRUE(read.is_ok()) << read.status().to_string();
  EXPECT_EQ(to_hex(read->view()), kSegment0Plaintext);
}

// The eUICC refuses anything but the segments the SM-DP+ produced, in their order, and a refused
// segment leaves its state as it was.
TEST(RspCryptoScp03t, EuiccSideCatchesTampering) {
  auto dp_key = generate_key(Curve::kNistP256);
  auto euicc_key = generate_key(Curve::kNistP256);
  ASSERT_TRUE(dp_key.is_ok() && euicc_key.is_ok());
  auto z_dp = shared_secret(*dp_key, *euicc_key);
  auto z_euicc = shared_secret(*euicc_key, *dp_key);
  ASSERT_TRUE(z_dp.is_ok() && z_euicc.is_ok());
  const ByteView host_view = as_bytes("station");
  const Bytes host_id(host_view.begin(), host_view.end());
  const Bytes eid = *eid_bytes("89049032123451234512345678901235");
  auto dp_keys = derive_session_keys(z_dp->view(), host_id, eid);
  auto euicc_keys = derive_session_keys(z_euicc->view(), host_id, eid);
  ASSERT_TRUE(dp_keys.is_ok() && euicc_keys.is_ok());
  Scp03tState dp(*dp_keys);
  Scp03tState euicc(*euicc_keys);

  // A profile split into segments of every interesting size.
  std::vector<Bytes> plaintexts;
  for (std::size_t size : {std::size_t{1}, std::size_t{15}, std::size_t{16}, std::size_t{17},
                           std::size_t{500}, kMaxEncryptedSegmentPlaintext}) {
    Bytes plaintext(size);
    for (std::size_t i = 0; i < size; ++i) plaintext[i] = static_cast<std::uint8_t>(i * 7 + size);
    plaintexts.push_back(std::move(plaintext));
  }
  std::vector<Bytes> segments;
  for (const Bytes& plaintext : plaintexts) {
    auto segment = protect_segment(dp, 0x86, plaintext);
    ASSERT_TRUE(segment.is_ok()) << segment.status().to_string();
    EXPECT_LE(segment->size(), kMaxSegmentBytes);
    segments.push_back(std::move(*segment));
  }
  EXPECT_EQ(segments.back().size(), kMaxSegmentBytes);
  EXPECT_EQ(protect_segment(dp, 0x86, Bytes(kMaxEncryptedSegmentPlaintext + 1, 0)).status().code(),
            ErrorCode::kPayloadTooLarge);
  EXPECT_FALSE(protect_segment(dp, 0x86, Bytes{}).is_ok());

  for (std::size_t i = 0; i < segments.size(); ++i) {
    SCOPED_TRACE(i);
    const std::uint32_t counter = euicc.block_counter;
    // Every single flipped bit (sampled) is caught, and the state does not move.
    for (std::size_t at : {std::size_t{0}, std::size_t{1}, segments[i].size() / 2,
                           segments[i].size() - 9, segments[i].size() - 1}) {
      Bytes tampered = segments[i];
      tampered[at] ^= 0x01;
      auto refused = unprotect_segment(euicc, 0x86, tampered);
      EXPECT_FALSE(refused.is_ok()) << at;
      EXPECT_EQ(euicc.block_counter, counter);
    }
    Bytes truncated(segments[i].begin(), segments[i].end() - 1);
    EXPECT_FALSE(unprotect_segment(euicc, 0x86, truncated).is_ok());
    // Skipping ahead (a lost or reordered segment) fails the MAC chain.
    if (i + 1 < segments.size()) {
      EXPECT_EQ(unprotect_segment(euicc, 0x86, segments[i + 1]).status().code(),
                ErrorCode::kUnauthenticated);
    }
    auto plaintext = unprotect_segment(euicc, 0x86, segments[i]);
    ASSERT_TRUE(plaintext.is_ok()) << plaintext.status().to_string();
    EXPECT_EQ(to_hex(plaintext->view()), to_hex(plaintexts[i]));
    // A replay of the same segment no longer verifies.
    EXPECT_FALSE(unprotect_segment(euicc, 0x86, segments[i]).is_ok());
  }

  // A MAC-only segment: tag checked, data returned, tampering caught.
  auto metadata = mac_segment(dp, 0x88, hex("bf2503800101"));
  ASSERT_TRUE(metadata.is_ok());
  EXPECT_EQ(verify_mac_segment(euicc, 0x87, *metadata).status().code(),
            ErrorCode::kValidationFailed);
  Bytes tampered = *metadata;
  tampered[5] ^= 0x01;
  EXPECT_EQ(verify_mac_segment(euicc, 0x88, tampered).status().code(), ErrorCode::kUnauthenticated);
  auto data = verify_mac_segment(euicc, 0x88, *metadata);
  ASSERT_TRUE(data.is_ok());
  EXPECT_EQ(to_hex(*data), "bf2503800101");
  EXPECT_EQ(unprotect_segment(euicc, 0x86, Bytes(kMaxSegmentBytes + 1, 0x86)).status().code(),
            ErrorCode::kPayloadTooLarge);
}

TEST(RspCryptoScp03t, IcvIsTheEncryptedBlockCounter) {
  const SessionKeys keys =
      keys_of("000102030405060708090a0b0c0d0e0f", "000102030405060708090a0b0c0d0e0f",
              "000102030405060708090a0b0c0d0e0f");
  // AES-128 known answer (FIPS-197 appendix C.1): key 000102..0f, input 00112233..ff.
  // Here: the counter block 00..01 under the same key, checked against OpenSSL ECB directly.
  auto icv = scp03t_icv(keys.s_enc, 1);
  ASSERT_TRUE(icv.is_ok());
  unsigned char block[16] = {};
  block[15] = 1;
  unsigned char expected[32];
  int size = 0;
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ASSERT_EQ(EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), nullptr, keys.s_enc.data(), nullptr), 1);
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  ASSERT_EQ(EVP_EncryptUpdate(ctx, expected, &size, block, 16), 1);
  EVP_CIPHER_CTX_free(ctx);
  EXPECT_EQ(hex_of(*icv), to_hex(ByteView(expected, 16)));
  EXPECT_NE(hex_of(*icv), hex_of(*scp03t_icv(keys.s_enc, 2)));
}

}  // namespace
}  // namespace station::rsp_crypto
