#include "der/rsp.h"

#include <fmt/format.h>

#include <climits>
#include <cstdlib>
#include <string_view>
#include <utility>

#include "AuthenticateServerResponse.h"
#include "Certificate.h"
#include "CtxParams1.h"
#include "EUICCInfo1.h"
#include "EUICCInfo2.h"
#include "EuiccSigned1.h"
#include "InitiateAuthenticationRequest.h"
#include "ber_decoder.h"
#include "constraints.h"
#include "der_encoder.h"

namespace station::der::rsp {
namespace {

// Owns a top-level value asn1c allocated (or that we allocated for it to fill).
template <typename T>
class Owned {
 public:
  explicit Owned(asn_TYPE_descriptor_t& type) : type_(type) {}
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  ~Owned() {
    if (value_ != nullptr) type_.free_struct(&type_, value_, 0);
  }
  // A zeroed value to fill in for encoding; nullptr when memory is short.
  T* allocate() {
    value_ = static_cast<T*>(std::calloc(1, sizeof(T)));
    return value_;
  }
  void** slot() { return reinterpret_cast<void**>(&value_); }
  T* get() const { return value_; }
  asn_TYPE_descriptor_t& type() const { return type_; }

 private:
  asn_TYPE_descriptor_t& type_;
  T* value_ = nullptr;
};

constexpr Tag kEuiccInfo1Tag = Tag::context(32, true);                     // BF20
constexpr Tag kInitiateAuthenticationRequestTag = Tag::context(57, true);  // BF39
constexpr Tag kAuthenticateServerResponseTag = Tag::context(56, true);     // BF38

Status malformed(std::string_view what, std::string_view why) {
  return Status(ErrorCode::kMalformedRequest, fmt::format("{}: {}", what, why));
}

// Decodes `der` as `type` into `*slot` (allocated by asn1c when null, else filled in place), after
// the strict DER check; the parsed TLV tree is returned for taking parts as received.
Result<Element> decode_checked(asn_TYPE_descriptor_t& type, void** slot, ByteView der,
                               const Limits& limits, const Tag& tag, std::string_view what) {
  auto top = parse(der, limits);
  if (!top.is_ok()) return malformed(what, top.status().message());
  // asn1c compares tags without their constructed bit; the outermost one is checked here.
  if (!(top->tag() == tag)) {
    return malformed(
        what, fmt::format("tag {} where {} belongs", top->tag().to_string(), tag.to_string()));
  }
  // No codec context: asn1c then bounds its own recursion (30,000 bytes of stack). That bound
  // matters: asn1c ignores the constructed bit of identifiers, so it parses as TLVs contents that
  // the strict check saw as primitive (e.g. 9F38 where BF38 belongs), where tlv.h's depth and
  // length rules have not looked.
  const asn_dec_rval_t result = ber_decode(nullptr, &type, slot, der.data(), der.size());
  if (result.code != RC_OK) return malformed(what, fmt::format("not a valid {}", type.name));
  if (result.consumed != der.size()) return malformed(what, "bytes after the value");
  char why[256];
  std::size_t why_size = sizeof(why);
  if (asn_check_constraints(&type, *slot, why, &why_size) != 0) {
    return malformed(what, std::string_view(why, why_size));
  }
  return top;
}

int append_bytes(const void* buffer, std::size_t size, void* key) {
  auto* out = static_cast<Bytes*>(key);
  const auto* bytes = static_cast<const std::uint8_t*>(buffer);
  out->insert(out->end(), bytes, bytes + size);
  return 0;
}

Result<Bytes> encode_checked(asn_TYPE_descriptor_t& type, void* value, std::string_view what) {
  char why[256];
  std::size_t why_size = sizeof(why);
  if (asn_check_constraints(&type, value, why, &why_size) != 0) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("{}: {}", what, std::string_view(why, why_size)));
  }
  Bytes out;
  const asn_enc_rval_t result = der_encode(&type, value, append_bytes, &out);
  if (result.encoded < 0) {
    return Status(ErrorCode::kInternal,
                  fmt::format("{}: asn1c could not encode {}", what,
                              result.failed_type != nullptr ? result.failed_type->name : "?"));
  }
  return out;
}

Status set_octets(OCTET_STRING_t& target, ByteView bytes, std::string_view what) {
  if (bytes.size() > static_cast<std::size_t>(INT_MAX) ||
      OCTET_STRING_fromBuf(&target, reinterpret_cast<const char*>(bytes.data()),
                           static_cast<int>(bytes.size())) != 0) {
    return Status(ErrorCode::kInternal, fmt::format("{}: cannot hold the bytes", what));
  }
  return Status::ok();
}

Status set_text(OCTET_STRING_t& target, std::string_view text, std::string_view what) {
  return set_octets(target, as_bytes(text), what);
}

Bytes octets_of(const OCTET_STRING_t& source) {
  if (source.buf == nullptr) return {};
  return Bytes(source.buf, source.buf + source.size);
}

std::string text_of(const OCTET_STRING_t& source) {
  if (source.buf == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(source.buf), source.size);
}

// Appends an OCTET STRING to a SEQUENCE OF SubjectKeyIdentifier (A_SEQUENCE_OF list).
template <typename List>
Status add_octets(List& list, ByteView bytes, std::string_view what) {
  auto* item = static_cast<OCTET_STRING_t*>(std::calloc(1, sizeof(OCTET_STRING_t)));
  if (item == nullptr) return Status(ErrorCode::kInternal, fmt::format("{}: out of memory", what));
  Status set = set_octets(*item, bytes, what);
  if (!set.is_ok() || asn_sequence_add(&list, item) != 0) {
    asn_DEF_OCTET_STRING.free_struct(&asn_DEF_OCTET_STRING, item, 0);
    return set.is_ok() ? Status(ErrorCode::kInternal, fmt::format("{}: out of memory", what)) : set;
  }
  return Status::ok();
}

template <typename List>
std::vector<Bytes> list_of(const List& list) {
  std::vector<Bytes> out;
  out.reserve(static_cast<std::size_t>(list.count));
  for (int i = 0; i < list.count; ++i) out.push_back(octets_of(*list.array[i]));
  return out;
}

Status fill(EUICCInfo1_t& target, const EuiccInfo1& value) {
  constexpr std::string_view kWhat = "EUICCInfo1";
  STATION_RETURN_IF_ERROR(set_octets(target.svn, value.svn, kWhat));
  for (const Bytes& id : value.ci_pkids_for_verification) {
    STATION_RETURN_IF_ERROR(add_octets(target.euiccCiPKIdListForVerification.list, id, kWhat));
  }
  for (const Bytes& id : value.ci_pkids_for_signing) {
    STATION_RETURN_IF_ERROR(add_octets(target.euiccCiPKIdListForSigning.list, id, kWhat));
  }
  return Status::ok();
}

EuiccInfo1 extract(const EUICCInfo1_t& source) {
  return EuiccInfo1{
      .svn = octets_of(source.svn),
      .ci_pkids_for_verification = list_of(source.euiccCiPKIdListForVerification.list),
      .ci_pkids_for_signing = list_of(source.euiccCiPKIdListForSigning.list),
  };
}

// Checks that `der` is one element with `tag` (a part the caller supplies already encoded).
Status check_part(ByteView der, const Tag& tag, std::string_view what) {
  auto element = parse(der, kAuthenticateServerResponseLimits);
  if (!element.is_ok()) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("{}: {}", what, element.status().message()));
  }
  if (!(element->tag() == tag)) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("{}: tag {} where {} belongs", what, element->tag().to_string(),
                              tag.to_string()));
  }
  return Status::ok();
}

// Validates what the TLV builder wrote by decoding it as `type` (structure and constraints).
template <typename T>
Status check_whole(asn_TYPE_descriptor_t& type, ByteView der, const Tag& tag,
                   std::string_view what) {
  Owned<T> owned(type);
  auto decoded =
      decode_checked(type, owned.slot(), der, kAuthenticateServerResponseLimits, tag, what);
  if (!decoded.is_ok()) return Status(ErrorCode::kValidationFailed, decoded.status().message());
  return Status::ok();
}

// The EuiccSigned1 fields, with euiccInfo2 and ctxParams1 taken as received from its TLV.
Result<EuiccSigned1> extract(const EuiccSigned1_t& source, const Element& tlv) {
  EuiccSigned1 out{
      .transaction_id = octets_of(source.transactionId),
      .server_address = text_of(source.serverAddress),
      .server_challenge = octets_of(source.serverChallenge),
  };
  Cursor cursor(tlv);
  STATION_RETURN_IF_ERROR(cursor.required(Tag::context(0), "transactionId").status());
  STATION_RETURN_IF_ERROR(cursor.required(Tag::context(3), "serverAddress").status());
  STATION_RETURN_IF_ERROR(cursor.required(Tag::context(4), "serverChallenge").status());
  STATION_ASSIGN_OR_RETURN(Element info2, cursor.required(Tag::context(34, true), "euiccInfo2"));
  STATION_ASSIGN_OR_RETURN(Element ctx, cursor.next("ctxParams1"));
  out.euicc_info2.assign(info2.encoded().begin(), info2.encoded().end());
  out.ctx_params1.assign(ctx.encoded().begin(), ctx.encoded().end());
  return out;
}

Bytes copy(ByteView bytes) { return Bytes(bytes.begin(), bytes.end()); }

}  // namespace

Result<Bytes> encode(const EuiccInfo1& value) {
  Owned<EUICCInfo1_t> owned(asn_DEF_EUICCInfo1);
  if (owned.allocate() == nullptr) return Status(ErrorCode::kInternal, "EUICCInfo1: out of memory");
  STATION_RETURN_IF_ERROR(fill(*owned.get(), value));
  return encode_checked(owned.type(), owned.get(), "EUICCInfo1");
}

Result<EuiccInfo1> decode_euicc_info1(ByteView der, const Limits& limits) {
  Owned<EUICCInfo1_t> owned(asn_DEF_EUICCInfo1);
  auto top = decode_checked(owned.type(), owned.slot(), der, limits, kEuiccInfo1Tag, "EUICCInfo1");
  if (!top.is_ok()) return top.status();
  return extract(*owned.get());
}

Result<Bytes> encode(const InitiateAuthenticationRequest& value) {
  constexpr std::string_view kWhat = "InitiateAuthenticationRequest";
  Owned<InitiateAuthenticationRequest_t> owned(asn_DEF_InitiateAuthenticationRequest);
  auto* target = owned.allocate();
  if (target == nullptr)
    return Status(ErrorCode::kInternal, fmt::format("{}: out of memory", kWhat));
  STATION_RETURN_IF_ERROR(set_octets(target->euiccChallenge, value.euicc_challenge, kWhat));
  STATION_RETURN_IF_ERROR(set_text(target->smdpAddress, value.smdp_address, kWhat));
  STATION_RETURN_IF_ERROR(fill(target->euiccInfo1, value.euicc_info1));
  return encode_checked(owned.type(), target, kWhat);
}

Result<InitiateAuthenticationRequest> decode_initiate_authentication_request(ByteView der,
                                                                             const Limits& limits) {
  Owned<InitiateAuthenticationRequest_t> owned(asn_DEF_InitiateAuthenticationRequest);
  auto top = decode_checked(owned.type(), owned.slot(), der, limits,
                            kInitiateAuthenticationRequestTag, "InitiateAuthenticationRequest");
  if (!top.is_ok()) return top.status();
  const auto& source = *owned.get();
  return InitiateAuthenticationRequest{
      .euicc_challenge = octets_of(source.euiccChallenge),
      .smdp_address = text_of(source.smdpAddress),
      .euicc_info1 = extract(source.euiccInfo1),
  };
}

Result<Bytes> encode(const EuiccSigned1& value) {
  constexpr std::string_view kWhat = "EuiccSigned1";
  STATION_RETURN_IF_ERROR(
      check_part(value.euicc_info2, Tag::context(34, true), "EuiccSigned1 euiccInfo2"));
  STATION_RETURN_IF_ERROR(
      check_part(value.ctx_params1, Tag::context(0, true), "EuiccSigned1 ctxParams1"));
  Builder builder;
  builder.begin(kSequence)
      .primitive(Tag::context(0), value.transaction_id)
      .primitive(Tag::context(3), value.server_address)
      .primitive(Tag::context(4), value.server_challenge)
      .raw(value.euicc_info2)
      .raw(value.ctx_params1)
      .end();
  STATION_ASSIGN_OR_RETURN(Bytes der, std::move(builder).finish());
  STATION_RETURN_IF_ERROR(check_whole<EuiccSigned1_t>(asn_DEF_EuiccSigned1, der, kSequence, kWhat));
  return der;
}

Result<Bytes> encode(const AuthenticateServerResponse& value) {
  constexpr std::string_view kWhat = "AuthenticateServerResponse";
  if (const auto* ok = std::get_if<AuthenticateResponseOk>(&value)) {
    // Written with the TLV builder so that the signed part and the certificates go out exactly
    // as given; asn1c then checks the whole.
    Bytes signed1;
    if (ok->euicc_signed1_der.empty()) {
      STATION_ASSIGN_OR_RETURN(signed1, encode(ok->euicc_signed1));
    } else {
      STATION_RETURN_IF_ERROR(check_part(ok->euicc_signed1_der, kSequence, "euiccSigned1"));
      signed1 = ok->euicc_signed1_der;
    }
    STATION_RETURN_IF_ERROR(check_part(ok->euicc_certificate, kSequence, "euiccCertificate"));
    STATION_RETURN_IF_ERROR(check_part(ok->eum_certificate, kSequence, "eumCertificate"));
    Builder builder;
    builder.begin(kAuthenticateServerResponseTag)
        .begin(Tag::context(0, true))
        .raw(signed1)
        .primitive(Tag::application(55), ok->euicc_signature1)
        .raw(ok->euicc_certificate)
        .raw(ok->eum_certificate)
        .end()
        .end();
    STATION_ASSIGN_OR_RETURN(Bytes der, std::move(builder).finish());
    STATION_RETURN_IF_ERROR(check_whole<AuthenticateServerResponse_t>(
        asn_DEF_AuthenticateServerResponse, der, kAuthenticateServerResponseTag, kWhat));
    return der;
  }
  Owned<AuthenticateServerResponse_t> owned(asn_DEF_AuthenticateServerResponse);
  auto* target = owned.allocate();
  if (target == nullptr)
    return Status(ErrorCode::kInternal, fmt::format("{}: out of memory", kWhat));
  const auto& error = std::get<AuthenticateResponseError>(value);
  target->present = AuthenticateServerResponse_PR_authenticateResponseError;
  AuthenticateResponseError_t& out = target->choice.authenticateResponseError;
  STATION_RETURN_IF_ERROR(set_octets(out.transactionId, error.transaction_id, kWhat));
  if (error.code < LONG_MIN || error.code > LONG_MAX ||
      asn_long2INTEGER(&out.authenticateErrorCode, static_cast<long>(error.code)) != 0) {
    return Status(ErrorCode::kValidationFailed, fmt::format("{}: error code out of range", kWhat));
  }
  return encode_checked(owned.type(), target, kWhat);
}

Result<AuthenticateServerResponse> decode_authenticate_server_response(ByteView der,
                                                                       const Limits& limits) {
  constexpr std::string_view kWhat = "AuthenticateServerResponse";
  Owned<AuthenticateServerResponse_t> owned(asn_DEF_AuthenticateServerResponse);
  auto top = decode_checked(owned.type(), owned.slot(), der, limits, kAuthenticateServerResponseTag,
                            kWhat);
  if (!top.is_ok()) return top.status();
  const auto& source = *owned.get();
  // BF38 { A0 { EuiccSigned1, 5F37, Certificate, Certificate } | A1 { 80, 02 } }
  Cursor outer(*top);
  auto alternative = outer.next("alternative");
  if (!alternative.is_ok()) return malformed(kWhat, alternative.status().message());
  switch (source.present) {
    case AuthenticateServerResponse_PR_authenticateResponseOk: {
      const AuthenticateResponseOk_t& ok = source.choice.authenticateResponseOk;
      Cursor cursor(*alternative);
      auto signed1 = cursor.required(kSequence, "euiccSigned1");
      auto signature = cursor.required(Tag::application(55), "euiccSignature1");
      auto euicc_cert = cursor.required(kSequence, "euiccCertificate");
      auto eum_cert = cursor.required(kSequence, "eumCertificate");
      for (const auto* part : {&signed1, &signature, &euicc_cert, &eum_cert}) {
        if (!part->is_ok()) return malformed(kWhat, part->status().message());
      }
      auto fields = extract(ok.euiccSigned1, *signed1);
      if (!fields.is_ok()) return malformed(kWhat, fields.status().message());
      return AuthenticateServerResponse(AuthenticateResponseOk{
          .euicc_signed1 = std::move(fields).value(),
          .euicc_signed1_der = copy(signed1->encoded()),
          .euicc_signature1 = octets_of(ok.euiccSignature1),
          .euicc_certificate = copy(euicc_cert->encoded()),
          .eum_certificate = copy(eum_cert->encoded()),
      });
    }
    case AuthenticateServerResponse_PR_authenticateResponseError: {
      const AuthenticateResponseError_t& error = source.choice.authenticateResponseError;
      long code = 0;
      if (asn_INTEGER2long(&error.authenticateErrorCode, &code) != 0) {
        return malformed(kWhat, "authenticateErrorCode out of range");
      }
      return AuthenticateServerResponse(AuthenticateResponseError{
          .transaction_id = octets_of(error.transactionId),
          .code = code,
      });
    }
    default:
      return malformed(kWhat, "unknown alternative");
  }
}

}  // namespace station::der::rsp
