// kyc: identity verification of customers (know your customer).
//
// A customer submits an identity document (type, number, full name, date of birth, nationality);
// an operator reviews it. States:
//
//   (none) -> pending -> verified
//                     -> rejected (with a reason) -> pending (the customer submits again)
//
// The document number is never stored: only a keyed hash of it (HMAC-SHA256 under a key derived
// from the secrets keyring's active key, secrets::Keyring::keyed_hash; the key id is stored
// beside it so hashes stay checkable after a key rotation) and its last 4 characters, which is
// what support needs to talk about a document. The number is normalised first (spaces and '-'
// removed, letters upper case), so "e1234-5678" and "E12345678" hash alike.
//
// One row per customer holds the latest submission and its review; every submission and
// decision is also an audit row, written in the same transaction. Each change is a
// compare-and-set on the row, so two reviewers cannot both decide (the loser gets kConflict).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/id.h"
#include "common/result.h"
#include "secrets/secrets.h"
#include "storage/database.h"

namespace station::kyc {

inline constexpr std::size_t kFullNameBytesMax = 200;
inline constexpr std::size_t kDocumentNumberCharsMin = 4;
inline constexpr std::size_t kDocumentNumberCharsMax = 32;
inline constexpr std::size_t kDocumentNumberBytesMax = 64;  // before normalisation
inline constexpr std::size_t kRejectionReasonBytesMax = 500;
inline constexpr std::uint32_t kIdentitiesListedMax = 200;
// The keyed hash's purpose (secrets::Keyring::keyed_hash).
inline constexpr std::string_view kDocumentHashPurpose = "kyc-document-number";

enum class IdentityState : std::uint8_t { kPending, kVerified, kRejected };
std::string_view identity_state_name(IdentityState state);
std::optional<IdentityState> parse_identity_state(std::string_view name);

enum class DocumentType : std::uint8_t { kPassport, kNationalId, kDrivingLicence };
std::string_view document_type_name(DocumentType type);  // "passport", "national_id", ...
std::optional<DocumentType> parse_document_type(std::string_view name);

// Spaces and '-' removed, ASCII letters upper case; kValidationFailed unless the result is 4 to
// 32 letters and digits.
Result<std::string> normalise_document_number(std::string_view number);
// True for a real calendar date "YYYY-MM-DD" from 1900-01-01 on.
bool is_date(std::string_view text);

struct IdentitySubmission {
  Id customer_id = 0;
  DocumentType document_type = DocumentType::kPassport;
  std::string document_number;  // as written on the document; never stored
  std::string full_name;
  std::string date_of_birth;  // YYYY-MM-DD
  std::string nationality;    // ISO 3166-1 alpha-2, upper case
};

struct Identity {
  Id customer_id = 0;
  IdentityState state = IdentityState::kPending;
  DocumentType document_type = DocumentType::kPassport;
  std::string document_hash;    // lower-case hex HMAC-SHA256 of the normalised number
  std::string document_key_id;  // the secrets key the hash was made with
  std::string document_last4;
  std::string full_name;
  std::string date_of_birth;
  std::string nationality;
  std::string rejection_reason;  // empty unless rejected
  std::string reviewed_by;       // the reviewer's actor name; empty while pending
  std::int64_t submitted_at_ms = 0;
  std::optional<std::int64_t> reviewed_at_ms;
};

// Who acts, for the audit log.
struct Actor {
  std::string name = "system";  // "key:<prefix>", "cli:<user>", "system"
  std::string request_id;       // empty for the CLI
};

class Identities {
 public:
  // Submitting needs a key in the keyring (to hash the document number); reviewing does not.
  Identities(storage::Database& database, const secrets::Keyring& keyring, IdGenerator& ids,
             const Clock& clock);

  // A new pending submission. kNotFound for an unknown customer; kValidationFailed for a bad
  // field (date of birth in the future included); kConflict while a submission is pending or
  // once the customer is verified.
  Result<Identity> submit(const IdentitySubmission& submission, const Actor& actor = {});
  // pending -> verified. kNotFound when the customer never submitted; kConflict unless pending.
  Result<Identity> approve(Id customer_id, const Actor& actor = {});
  // pending -> rejected; the reason is 1 to 500 bytes and is shown to the customer.
  Result<Identity> reject(Id customer_id, std::string_view reason, const Actor& actor = {});

  // kNotFound when the customer never submitted.
  Result<Identity> get(Id customer_id);
  // What orders ask: nullopt when the customer never submitted.
  Result<std::optional<IdentityState>> state(Id customer_id);
  // In one state (any when nullopt), oldest submission first: the review queue.
  // limit: 1 to kIdentitiesListedMax.
  Result<std::vector<Identity>> list(std::optional<IdentityState> state, std::uint32_t limit);

 private:
  Result<Identity> decide(Id customer_id, IdentityState to, std::string_view reason,
                          const Actor& actor);

  storage::Database& database_;
  const secrets::Keyring& keyring_;
  IdGenerator& ids_;
  const Clock& clock_;
};

}  // namespace station::kyc
