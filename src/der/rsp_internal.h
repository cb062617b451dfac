// der/rsp_internal: what every rsp_*.cc shares: the asn1c bridge (strict DER check, decode,
// constraint check; an encoder's output checked by decoding it), copying fields out of asn1c's
// structs, and writing the values of the RSP types with the TLV builder. Private to src/der;
// asn1c types appear only here and in the .cc files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "BIT_STRING.h"
#include "INTEGER.h"
#include "NotificationConfigurationInformation.h"
#include "OCTET_STRING.h"
#include "OperatorID.h"
#include "asn_application.h"
#include "common/result.h"
#include "der/rsp_download.h"
#include "der/tlv.h"

namespace station::der::rsp::internal {

// Owns a top-level value asn1c allocated.
template <typename T>
class Owned {
 public:
  explicit Owned(asn_TYPE_descriptor_t& type) : type_(type) {}
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  ~Owned() {
    if (value_ != nullptr) type_.free_struct(&type_, value_, 0);
  }
  void** slot() { return reinterpret_cast<void**>(&value_); }
  T* get() const { return value_; }
  asn_TYPE_descriptor_t& type() const { return type_; }

 private:
  asn_TYPE_descriptor_t& type_;
  T* value_ = nullptr;
};

// Limits for checking what an encoder wrote or a part it was given: the encoders' own outputs are
// bounded by their inputs, so this only has to admit the largest message (a Bound Profile
// Package).
inline constexpr Limits kEncodeCheckLimits{
    .max_bytes = 4 * 1024 * 1024, .max_elements = 64 * 1024, .max_depth = 24};

Status malformed(std::string_view what, std::string_view why);  // kMalformedRequest
Status invalid(std::string_view what, std::string_view why);    // kValidationFailed

// Decodes `der` as `type` into `*slot` (allocated by asn1c when null), after the strict DER check
// and the check of the outermost tag; the parsed TLV tree is returned for taking parts as
// received.
Result<Element> decode_checked(asn_TYPE_descriptor_t& type, void** slot, ByteView der,
                               const Limits& limits, const Tag& tag, std::string_view what);

// Decodes with asn1c, then `extract(const T&, const Element&) -> Result<Out>` copies the fields
// out; a failure of `extract` (whose message need not name the type) is reported as malformed
// `what`.
template <typename T, typename Extract>
auto decode_as(asn_TYPE_descriptor_t& type, ByteView der, const Limits& limits, const Tag& tag,
               std::string_view what, Extract extract)
    -> decltype(extract(std::declval<const T&>(), std::declval<const Element&>())) {
  Owned<T> owned(type);
  auto top = decode_checked(type, owned.slot(), der, limits, tag, what);
  if (!top.is_ok()) return top.status();
  auto out = extract(*owned.get(), *top);
  if (!out.is_ok()) return malformed(what, out.status().message());
  return out;
}

// Checks what the TLV builder wrote by decoding it as `type` (structure and constraints); a
// failure is kValidationFailed: the caller gave values the type does not allow.
template <typename T>
Status check_whole(asn_TYPE_descriptor_t& type, ByteView der, const Tag& tag,
                   std::string_view what) {
  Owned<T> owned(type);
  auto decoded = decode_checked(type, owned.slot(), der, kEncodeCheckLimits, tag, what);
  if (!decoded.is_ok()) return Status(ErrorCode::kValidationFailed, decoded.status().message());
  return Status::ok();
}

// Finishes `builder` and checks the result as `type` with check_whole.
template <typename T>
Result<Bytes> finish_checked(Builder builder, asn_TYPE_descriptor_t& type, const Tag& tag,
                             std::string_view what) {
  STATION_ASSIGN_OR_RETURN(Bytes der, std::move(builder).finish());
  STATION_RETURN_IF_ERROR(check_whole<T>(type, der, tag, what));
  return der;
}

// Checks that `der` is one strict-DER element with `tag` (a part the caller supplies already
// encoded, to be written verbatim).
Status check_part(ByteView der, const Tag& tag, std::string_view what);

// `given` if the caller supplied a part already encoded (checked to be one `tag` element), else
// `value` encoded (with the encode() overload of its type).
template <typename T>
Result<Bytes> given_or_encoded(const Bytes& given, const T& value, const Tag& tag,
                               std::string_view what) {
  if (given.empty()) return encode(value);
  STATION_RETURN_IF_ERROR(check_part(given, tag, what));
  return given;
}

// The component TLVs of `parent` before its first child with tag `end`, as received.
Result<Bytes> components_before(const Element& parent, const Tag& end, std::string_view what);

// Copying fields out of asn1c values.
Bytes octets_of(const OCTET_STRING_t& source);
std::string text_of(const OCTET_STRING_t& source);
std::optional<Bytes> optional_octets(const OCTET_STRING_t* source);
std::optional<std::string> optional_text(const OCTET_STRING_t* source);
Result<std::int64_t> integer_of(const INTEGER_t& source, std::string_view what);
Result<std::optional<std::int64_t>> optional_integer(const INTEGER_t* source,
                                                     std::string_view what);
// A BIT STRING of named bits as a mask (named bit n is 1 << n); refuses a set bit beyond 63.
Result<std::uint64_t> named_bits_of(const BIT_STRING_t& source, std::string_view what);
Result<std::optional<std::uint64_t>> optional_named_bits(const BIT_STRING_t* source,
                                                         std::string_view what);

template <typename List>
std::vector<Bytes> list_of(const List& list) {
  std::vector<Bytes> out;
  out.reserve(static_cast<std::size_t>(list.count));
  for (int i = 0; i < list.count; ++i) out.push_back(octets_of(*list.array[i]));
  return out;
}

Bytes copy(ByteView bytes);

// OBJECT IDENTIFIER contents <-> dotted text ("2.999.10"); arcs up to 64 bits.
Result<std::string> oid_to_text(ByteView contents, std::string_view what);    // kMalformedRequest
Result<Bytes> oid_from_text(std::string_view dotted, std::string_view what);  // kValidationFailed

// Writing with the TLV builder.
// A named-bit BIT STRING from its mask, without trailing zero bits (X.690 11.2.2).
void append_named_bits(Builder& builder, const Tag& tag, std::uint64_t bits);
void append_optional(Builder& builder, const Tag& tag, const std::optional<Bytes>& value);
void append_optional(Builder& builder, const Tag& tag, const std::optional<std::string>& value);
void append_optional(Builder& builder, const Tag& tag, const std::optional<std::int64_t>& value);
// A SEQUENCE OF OCTET STRING (lists of SubjectKeyIdentifiers) under `tag`.
void append_octets_list(Builder& builder, const Tag& tag, const std::vector<Bytes>& items);

// Components shared by several messages (StoreMetadataRequest, ProfileInfo).
void append(Builder& builder, const Tag& tag, const OperatorId& value);
OperatorId extract(const OperatorID_t& source);
void append(Builder& builder, const Tag& tag, const std::vector<NotificationConfiguration>& items);
template <typename List>
Result<std::vector<NotificationConfiguration>> notification_configurations_of(const List& list) {
  std::vector<NotificationConfiguration> out;
  for (int i = 0; i < list.count; ++i) {
    STATION_ASSIGN_OR_RETURN(
        std::uint64_t bits,
        named_bits_of(list.array[i]->profileManagementOperation, "profileManagementOperation"));
    out.push_back(NotificationConfiguration{
        .profile_management_operation = bits,
        .notification_address = text_of(list.array[i]->notificationAddress)});
  }
  return out;
}

}  // namespace station::der::rsp::internal
