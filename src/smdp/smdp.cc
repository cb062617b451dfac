#include "smdp/smdp.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <mutex>

#include <fmt/format.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include "auth/api_keys.h"
#include "common/limits.h"
#include "der/rsp.h"
#include "orders/activation.h"
#include "smdp/es9_json.h"
#include "smdp/profile_notice.h"
#include "upp/upp.h"

namespace station::smdp {
namespace {

using storage::Connection;
using storage::Value;
namespace rsp = der::rsp;

constexpr std::size_t kChallengeBytes = 16;
constexpr std::size_t kTransactionIdBytes = 16;
constexpr std::size_t kMatchingIdBytesMax = 64;
constexpr std::size_t kHashHexChars = 64;
// SGP.22 tags carried as TLVs in the binding.
constexpr der::Tag kSignatureTag = der::Tag::application(55);  // 5F37
constexpr der::Tag kPublicKeyTag = der::Tag::application(73);  // 5F49
constexpr std::uint8_t kConfigureIsdpSegmentTag = 0x87;
constexpr std::uint8_t kStoreMetadataSegmentTag = 0x88;
constexpr std::uint8_t kProfileSegmentTag = 0x86;

// Session states (smdp_sessions.state).
constexpr std::string_view kInitiated = "initiated";
constexpr std::string_view kAuthenticated = "authenticated";
constexpr std::string_view kBppDelivered = "bpp_delivered";
constexpr std::string_view kCancelled = "cancelled";
constexpr std::string_view kFailed = "failed";

// Download order states (smdp_download_orders.state): the profile's, plus cancelled.
std::string state_of(inventory::ProfileState state) {
  return std::string(inventory::profile_state_name(state));
}
const std::string kAllocated = state_of(inventory::ProfileState::kAllocated);
const std::string kLinked = state_of(inventory::ProfileState::kLinked);
const std::string kConfirmed = state_of(inventory::ProfileState::kConfirmed);
const std::string kReleased = state_of(inventory::ProfileState::kReleased);
const std::string kDownloaded = state_of(inventory::ProfileState::kDownloaded);
const std::string kError = state_of(inventory::ProfileState::kError);
constexpr std::string_view kOrderCancelled = "cancelled";

Es9Failure failure(std::string subject, std::string reason, std::string message,
                   std::string metric_reason) {
  return Es9Failure{std::move(subject), std::move(reason), std::move(message),
                    std::move(metric_reason)};
}

Es9Failure unknown_transaction() {
  return failure("8.10.1", "3.9", "the RSP session is unknown, expired or ended",
                 "unknown_transaction");
}

Result<Bytes> random_bytes(std::size_t count) {
  Bytes out(count);
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    return Status(ErrorCode::kInternal, "the random generator failed");
  }
  return out;
}

std::string upper_hex(der::ByteView bytes) {
  std::string hex = rsp_crypto::to_hex(bytes);
  std::transform(hex.begin(), hex.end(), hex.begin(),
                 [](char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); });
  return hex;
}

Result<Bytes> tlv(const der::Tag& tag, der::ByteView contents) {
  der::Builder builder;
  builder.primitive(tag, contents);
  return std::move(builder).finish();
}

Bytes concat(der::ByteView a, der::ByteView b) {
  Bytes out(a.begin(), a.end());
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

bool is_matching_id(std::string_view id) {
  return !id.empty() && id.size() <= kMatchingIdBytesMax &&
         std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
         });
}

bool is_sha256_hex(std::string_view hash) {
  return hash.size() == kHashHexChars &&
         hash.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

std::optional<std::string> optional_text(const storage::Row& row, std::size_t column) {
  if (row.is_null(column)) return std::nullopt;
  return row.text_at(column);
}

Value optional_value(const std::optional<std::string>& text) {
  return text ? Value(*text) : Value(nullptr);
}

struct DownloadOrderRow {
  Id id = 0;
  std::string iccid;
  std::optional<std::string> matching_id;
  std::optional<std::string> eid;
  std::optional<std::string> cc_hash;
  std::int64_t cc_failures = 0;
  std::string state;
  std::optional<Id> order_id;
  std::optional<std::string> session_id;
  std::int64_t expires_at_ms = 0;
  std::int64_t version = 0;
};

constexpr std::string_view kDownloadOrderColumns =
    "id, iccid, matching_id, eid, confirmation_code_hash, cc_failures, state, order_id, "
    "session_id, expires_at_ms, version";

DownloadOrderRow download_order_from_row(const storage::Row& row) {
  DownloadOrderRow order;
  order.id = row.int_at(0);
  order.iccid = row.text_at(1);
  order.matching_id = optional_text(row, 2);
  order.eid = optional_text(row, 3);
  order.cc_hash = optional_text(row, 4);
  order.cc_failures = row.int_at(5);
  order.state = row.text_at(6);
  if (!row.is_null(7)) order.order_id = row.int_at(7);
  order.session_id = optional_text(row, 8);
  order.expires_at_ms = row.int_at(9);
  order.version = row.int_at(10);
  return order;
}

struct SessionRow {
  std::string transaction_id;
  std::string state;
  Bytes euicc_challenge;
  Bytes server_challenge;
  Bytes ci_pkid;
  std::optional<Id> download_order_id;
  std::string eid;
  Bytes smdp_signature2;
  std::int64_t expires_at_ms = 0;
  std::int64_t version = 0;
  // The verified eUICC certificate's public key; in a session begun before migration 19, empty,
  // and the certificate is there instead (no longer written since: the key and the EID are all
  // the later calls need, and a session keeps no more of the card than that).
  Bytes euicc_public_key;
  std::string euicc_key_curve;
  Bytes euicc_certificate;
};

constexpr std::string_view kSessionColumns =
    "transaction_id, state, euicc_challenge, server_challenge, ci_pkid, download_order_id, eid, "
    "smdp_signature2, expires_at_ms, version, euicc_public_key, euicc_key_curve, "
    "euicc_certificate";

Bytes hex_column(const storage::Row& row, std::size_t column) {
  if (row.is_null(column)) return {};
  auto bytes = rsp_crypto::from_hex(row.text_at(column));
  assert(bytes.is_ok() && "the SM-DP+ writes only hex into its byte columns");
  return bytes.is_ok() ? std::move(*bytes) : Bytes{};
}

SessionRow session_from_row(const storage::Row& row) {
  SessionRow session;
  session.transaction_id = row.text_at(0);
  session.state = row.text_at(1);
  session.euicc_challenge = hex_column(row, 2);
  session.server_challenge = hex_column(row, 3);
  session.ci_pkid = hex_column(row, 4);
  if (!row.is_null(5)) session.download_order_id = row.int_at(5);
  session.eid = row.text_or(6, "");
  session.smdp_signature2 = hex_column(row, 7);
  session.expires_at_ms = row.int_at(8);
  session.version = row.int_at(9);
  session.euicc_public_key = hex_column(row, 10);
  session.euicc_key_curve = row.text_or(11, "");
  if (session.euicc_public_key.empty()) session.euicc_certificate = hex_column(row, 12);
  return session;
}

// The eUICC's key that AuthenticateClient verified: from the stored point, which costs far less
// than decoding the certificate again; a session begun before the point was kept has only the
// certificate.
Result<rsp_crypto::EcKey> euicc_key_of(const SessionRow& session) {
  for (auto curve : {rsp_crypto::Curve::kNistP256, rsp_crypto::Curve::kBrainpoolP256r1}) {
    if (!session.euicc_public_key.empty() &&
        rsp_crypto::curve_name(curve) == session.euicc_key_curve) {
      return rsp_crypto::public_key_from_point(curve, session.euicc_public_key);
    }
  }
  STATION_ASSIGN_OR_RETURN(auto certificate,
                           rsp_crypto::Certificate::from_der(session.euicc_certificate));
  return certificate.public_key();
}

bool session_is_live(std::string_view state) {
  return state == kInitiated || state == kAuthenticated || state == kBppDelivered;
}

// Splits `data` into chunks of at most `size` bytes.
std::vector<der::ByteView> chunks(der::ByteView data, std::size_t size) {
  std::vector<der::ByteView> out;
  for (std::size_t at = 0; at < data.size(); at += size) {
    out.push_back(data.subspan(at, std::min(size, data.size() - at)));
  }
  return out;
}

}  // namespace

Status check_config(const SmdpConfig& config) {
  if (auto status = orders::check_smdp_address(config.address); !status.is_ok()) return status;
  if (!config.notification_address.empty()) {
    if (auto status = orders::check_smdp_address(config.notification_address); !status.is_ok()) {
      return Status(status.code(), "the notification address: " + status.message());
    }
  }
  if (config.host_id.empty() || config.host_id.size() > rsp_crypto::kMaxHostIdBytes) {
    return Status(ErrorCode::kValidationFailed, "the SM-DP+ host id must be 1..16 bytes");
  }
  if (config.credentials.empty()) {
    return Status(ErrorCode::kValidationFailed, "the SM-DP+ needs the credentials of a CI");
  }
  if (config.cc_attempts_max == 0 || config.session_ttl_seconds == 0) {
    return Status(ErrorCode::kValidationFailed,
                  "the SM-DP+ session TTL and confirmation code attempts must be positive");
  }
  for (const auto& set : config.credentials) {
    std::array trusted{set.ci};
    for (auto [entity, role] : {std::pair{&set.dp_auth, rsp_crypto::CertRole::kDpAuth},
                                std::pair{&set.dp_pb, rsp_crypto::CertRole::kDpPb}}) {
      Status chain = rsp_crypto::verify_chain(entity->certificate, {}, trusted, role);
      if (!chain.is_ok()) {
        return Status(ErrorCode::kValidationFailed,
                      fmt::format("the {} certificate: {}", rsp_crypto::role_name(role),
                                  chain.message()));
      }
      // The key must be the certificate's: sign and verify once.
      const std::array<std::uint8_t, 4> probe = {'p', 'r', 'o', 'b'};
      auto signature = rsp_crypto::sign(entity->key, probe);
      auto public_key = entity->certificate.public_key();
      if (!signature.is_ok() || !public_key.is_ok() ||
          !rsp_crypto::verify(*public_key, probe, *signature).is_ok()) {
        return Status(ErrorCode::kValidationFailed,
                      fmt::format("the {} key does not match its certificate",
                                  rsp_crypto::role_name(role)));
      }
    }
  }
  return Status::ok();
}

CredentialFiles credential_files_in_pki_dir(const std::string& dir) {
  return CredentialFiles{dir + "/ci.der", dir + "/dp_auth.der", dir + "/dp_auth.key.pem",
                         dir + "/dp_pb.der", dir + "/dp_pb.key.pem"};
}

Result<CiCredentials> load_credentials(const CredentialFiles& files) {
  CiCredentials set;
  STATION_ASSIGN_OR_RETURN(set.ci, rsp_crypto::load_certificate_file(files.ci_certificate));
  STATION_ASSIGN_OR_RETURN(set.dp_auth.certificate,
                           rsp_crypto::load_certificate_file(files.dp_auth_certificate));
  STATION_ASSIGN_OR_RETURN(set.dp_auth.key, rsp_crypto::load_private_key_file(files.dp_auth_key));
  STATION_ASSIGN_OR_RETURN(set.dp_pb.certificate,
                           rsp_crypto::load_certificate_file(files.dp_pb_certificate));
  STATION_ASSIGN_OR_RETURN(set.dp_pb.key, rsp_crypto::load_private_key_file(files.dp_pb_key));
  return set;
}

Result<CiCredentials> load_credentials_from_pki_dir(const std::string& dir) {
  return load_credentials(credential_files_in_pki_dir(dir));
}

struct Smdp::Impl {
  Impl(SmdpDependencies d, SmdpConfig c)
      : deps(d),
        config(std::move(c)),
        started(deps.metrics.counter("station_smdp_sessions_started_total",
                                     "RSP sessions begun by ES9+ InitiateAuthentication")),
        completed(deps.metrics.counter(
            "station_smdp_sessions_completed_total",
            "RSP sessions that delivered their Bound Profile Package")),
        abandoned_deleted(deps.metrics.counter(
            "station_smdp_sessions_abandoned_deleted_total",
            "RSP sessions deleted after expiring without a download order")) {}

  SmdpDependencies deps;
  SmdpConfig config;
  metrics::Counter& started;
  metrics::Counter& completed;
  metrics::Counter& abandoned_deleted;
  std::mutex listener_mutex;
  ProgressListener listener;  // GUARDED_BY(listener_mutex)
  EumCertificateCache eum_certificates;
  std::atomic<ProgressCallbacks*> progress_callbacks{nullptr};

  std::int64_t now_ms() const { return deps.clock.now_unix_ms(); }

  void count_failure(const Es9Failure& why) {
    deps.metrics
        .counter("station_smdp_sessions_failed_total",
                 "ES9+ calls answered with a failure status, by reason",
                 {{"reason", why.metric_reason}})
        .add();
  }

  void report(const DownloadOrderRow& order, DownloadProgress progress, std::string_view cause) {
    if (!order.order_id) return;
    ProgressListener copy;
    {
      std::lock_guard lock(listener_mutex);
      copy = listener;
    }
    if (copy) copy(*order.order_id, progress, cause);
  }

  // ES2+ HandleDownloadProgressInfo for an operator's download order (Station's own orders,
  // which carry an order id, follow through report()). A report that cannot be queued is
  // counted and logged by the queue; the download goes on.
  void tell_operator(const DownloadOrderRow& order, std::string_view eid, NotificationPoint point,
                     const Es9Failure* refusal, const Bytes* result_data = nullptr) {
    ProgressCallbacks* callbacks = progress_callbacks.load();
    if (callbacks == nullptr || order.order_id) return;
    ProgressInfo info;
    info.eid = std::string(eid);
    info.iccid = order.iccid;
    auto profile = deps.inventory.get(order.iccid);
    if (profile.is_ok()) info.profile_type = profile->profile_type;
    info.point = point;
    info.success = refusal == nullptr;
    if (refusal != nullptr) {
      info.subject_code = refusal->subject_code;
      info.reason_code = refusal->reason_code;
      info.message = refusal->message;
    }
    if (result_data != nullptr) info.result_data_base64 = b64(*result_data);
    callbacks->enqueue(info).ignore();
  }

  const CiCredentials* credentials_for(der::ByteView ci_pkid) const {
    for (const auto& set : config.credentials) {
      Bytes ski = set.ci.subject_key_identifier();
      if (std::equal(ski.begin(), ski.end(), ci_pkid.begin(), ci_pkid.end())) return &set;
    }
    return nullptr;
  }

  std::vector<rsp_crypto::Certificate> trusted_cis() const {
    std::vector<rsp_crypto::Certificate> out;
    for (const auto& set : config.credentials) out.push_back(set.ci);
    return out;
  }

  // ---- storage ----------------------------------------------------------------------------

  Result<std::optional<DownloadOrderRow>> find_order(Connection& connection,
                                                     std::string_view where, Value key) {
    std::array<Value, 1> params = {std::move(key)};
    STATION_ASSIGN_OR_RETURN(
        auto rows,
        connection.query(fmt::format("SELECT {} FROM smdp_download_orders WHERE {} ORDER BY id "
                                     "DESC LIMIT 1",
                                     kDownloadOrderColumns, where),
                         params));
    if (rows.empty()) return std::optional<DownloadOrderRow>();
    return std::optional<DownloadOrderRow>(download_order_from_row(rows[0]));
  }

  // The open (not yet downloaded, cancelled or failed) download order of a profile.
  Result<std::optional<DownloadOrderRow>> open_order_for(Connection& connection,
                                                         std::string_view iccid) {
    return find_order(connection,
                      "iccid = ? AND state IN ('allocated', 'linked', 'confirmed', 'released')",
                      std::string(iccid));
  }

  // Compare-and-set on a row's version: sets `columns` (and the version and update time) on the
  // row of `table` whose `key_column` is `key`, only if its version is still `version`.
  Status update_versioned(Connection& connection, std::string_view table,
                          std::string_view key_column, Value key, std::int64_t version,
                          std::vector<std::pair<std::string_view, Value>> columns,
                          std::string_view what) {
    std::string sets = "version = version + 1, updated_at_ms = ?";
    std::vector<Value> params;
    params.emplace_back(now_ms());
    for (auto& [column, value] : columns) {
      sets += fmt::format(", {} = ?", column);
      params.push_back(std::move(value));
    }
    params.push_back(std::move(key));
    params.emplace_back(version);
    STATION_RETURN_IF_ERROR(connection.execute(
        fmt::format("UPDATE {} SET {} WHERE {} = ? AND version = ?", table, sets, key_column),
        params));
    if (connection.changes() != 1) {
      return Status(ErrorCode::kConflict, fmt::format("the {} changed meanwhile", what));
    }
    return Status::ok();
  }

  Status update_order(Connection& connection, const DownloadOrderRow& order,
                      std::vector<std::pair<std::string_view, Value>> columns) {
    return update_versioned(connection, "smdp_download_orders", "id", Value(order.id),
                            order.version, std::move(columns), "download order");
  }

  Result<std::optional<SessionRow>> load_session(Connection& connection,
                                                 std::string_view transaction_id) {
    std::array<Value, 1> params = {std::string(transaction_id)};
    STATION_ASSIGN_OR_RETURN(
        auto rows, connection.query(fmt::format("SELECT {} FROM smdp_sessions WHERE "
                                                "transaction_id = ?",
                                                kSessionColumns),
                                    params));
    if (rows.empty()) return std::optional<SessionRow>();
    return std::optional<SessionRow>(session_from_row(rows[0]));
  }

  // A live, unexpired session in `state`, or the failure to answer.
  Outcome<SessionRow> live_session(Connection& connection, std::string_view transaction_id,
                                   std::string_view state) {
    auto loaded = load_session(connection, transaction_id);
    if (!loaded.is_ok()) return loaded.status();
    if (!*loaded || (*loaded)->state != state || (*loaded)->expires_at_ms <= now_ms()) {
      return unknown_transaction();
    }
    return std::move(**loaded);
  }

  Status update_session(Connection& connection, const SessionRow& session,
                        std::vector<std::pair<std::string_view, Value>> columns) {
    return update_versioned(connection, "smdp_sessions", "transaction_id",
                            Value(session.transaction_id), session.version, std::move(columns),
                            "session");
  }

  // Ends a session with a failure: the session is failed and its download order free again.
  template <class T>
  Outcome<T> fail_session(Connection& connection, const SessionRow& session, Es9Failure why) {
    Status status = update_session(connection, session,
                                   {{"state", std::string(kFailed)},
                                    {"failure_reason", why.metric_reason}});
    if (!status.is_ok() && status.code() != ErrorCode::kConflict) return status;
    count_failure(why);
    return why;
  }

  template <class T>
  Outcome<T> refuse(Es9Failure why) {
    count_failure(why);
    return why;
  }

  // ---- ES2+ ---------------------------------------------------------------------------------

  Result<std::string> download_order(const DownloadOrderRequest& request) {
    if (request.eid) STATION_RETURN_IF_ERROR(rsp_crypto::eid_bytes(*request.eid).status());
    const std::string cause = fmt::format("ES2+ DownloadOrder by {}", request.requester);
    std::string iccid;
    if (request.iccid) {
      STATION_ASSIGN_OR_RETURN(auto profile, deps.inventory.get(*request.iccid));
      iccid = profile.iccid;
      // Station's own order has taken the profile already (atomically, while paying); an
      // operator's DownloadOrder takes an available one.
      const bool taken_by_station_order =
          request.order_id && profile.state == inventory::ProfileState::kAllocated;
      if (!taken_by_station_order) {
        STATION_RETURN_IF_ERROR(deps.inventory.transition(
            iccid, inventory::ProfileState::kAvailable, inventory::ProfileState::kAllocated,
            cause));
      }
    } else {
      std::optional<std::string_view> type;
      if (request.profile_type) type = *request.profile_type;
      STATION_ASSIGN_OR_RETURN(auto profile, deps.inventory.allocate_one(type, cause));
      iccid = profile.iccid;
    }
    std::string state = kAllocated;
    if (request.eid) {
      STATION_RETURN_IF_ERROR(deps.inventory.transition(
          iccid, inventory::ProfileState::kAllocated, inventory::ProfileState::kLinked, cause));
      state = kLinked;
    }
    STATION_ASSIGN_OR_RETURN(auto connection, deps.database.acquire());
    std::vector<Value> params = {deps.ids.next(),
                                 iccid,
                                 optional_value(request.eid),
                                 state,
                                 request.order_id ? Value(*request.order_id) : Value(nullptr),
                                 now_ms() + std::int64_t{config.download_order_ttl_seconds} * 1000,
                                 request.requester,
                                 now_ms(),
                                 now_ms()};
    STATION_RETURN_IF_ERROR(connection->execute(
        "INSERT INTO smdp_download_orders (id, iccid, eid, cc_failures, state, order_id, "
        "expires_at_ms, version, created_by, created_at_ms, updated_at_ms) "
        "VALUES (?, ?, ?, 0, ?, ?, ?, 0, ?, ?, ?)",
        params));
    return iccid;
  }

  Result<ConfirmOrderResult> confirm_order(const ConfirmOrderRequest& request) {
    if (request.eid) STATION_RETURN_IF_ERROR(rsp_crypto::eid_bytes(*request.eid).status());
    if (request.matching_id && !is_matching_id(*request.matching_id)) {
      return Status(ErrorCode::kValidationFailed,
                    "a Matching ID is 1..64 characters of A-Z, 0-9 and '-'");
    }
    if (request.confirmation_code_hash && !is_sha256_hex(*request.confirmation_code_hash)) {
      return Status(ErrorCode::kValidationFailed,
                    "the confirmation code hash is 64 lower-case hex digits (SHA-256)");
    }
    STATION_ASSIGN_OR_RETURN(auto connection, deps.database.acquire());
    STATION_ASSIGN_OR_RETURN(auto open, open_order_for(*connection, request.iccid));
    if (!open || (open->state != kAllocated && open->state != kLinked)) {
      return Status(ErrorCode::kNotFound,
                    "no download order awaits confirmation for ICCID " + request.iccid);
    }
    if (open->eid && request.eid && *open->eid != *request.eid) {
      return Status(ErrorCode::kConflict, "the order is bound to another EID");
    }
    std::string matching_id;
    if (request.matching_id) {
      matching_id = *request.matching_id;
    } else {
      STATION_ASSIGN_OR_RETURN(matching_id, orders::new_matching_id());
    }
    const std::string cause = "ES2+ ConfirmOrder";
    using inventory::ProfileState;
    std::optional<std::string> eid = open->eid ? open->eid : request.eid;
    if (open->state == kAllocated && eid) {
      STATION_RETURN_IF_ERROR(deps.inventory.transition(request.iccid, ProfileState::kAllocated,
                                                        ProfileState::kLinked, cause));
    }
    STATION_RETURN_IF_ERROR(deps.inventory.transition(
        request.iccid, eid ? ProfileState::kLinked : ProfileState::kAllocated,
        ProfileState::kConfirmed, cause));
    std::string state = kConfirmed;
    if (request.release) {
      STATION_RETURN_IF_ERROR(deps.inventory.transition(request.iccid, ProfileState::kConfirmed,
                                                        ProfileState::kReleased, cause));
      state = kReleased;
    }
    Status updated = update_order(*connection, *open,
                                  {{"matching_id", matching_id},
                                   {"eid", optional_value(eid)},
                                   {"confirmation_code_hash",
                                    optional_value(request.confirmation_code_hash)},
                                   {"state", state}});
    if (!updated.is_ok()) {
      if (updated.message().find("UNIQUE") != std::string::npos ||
          updated.message().find("unique") != std::string::npos) {
        return Status(ErrorCode::kConflict, "the Matching ID is already in use");
      }
      return updated;
    }
    return ConfirmOrderResult{matching_id, config.address, eid};
  }

  Status release_profile(std::string_view iccid) {
    STATION_ASSIGN_OR_RETURN(auto connection, deps.database.acquire());
    STATION_ASSIGN_OR_RETURN(auto open, open_order_for(*connection, iccid));
    if (!open || open->state != kConfirmed) {
      return Status(ErrorCode::kConflict, "no confirmed download order for this ICCID");
    }
    STATION_RETURN_IF_ERROR(deps.inventory.transition(iccid, inventory::ProfileState::kConfirmed,
                                                      inventory::ProfileState::kReleased,
                                                      "ES2+ ReleaseProfile"));
    return update_order(*connection, *open, {{"state", kReleased}});
  }

  Status cancel_order(std::string_view iccid, std::optional<std::string_view> matching_id,
                      FinalProfileStatus final_status, std::string_view cause) {
    STATION_ASSIGN_OR_RETURN(auto connection, deps.database.acquire());
    STATION_ASSIGN_OR_RETURN(auto open, open_order_for(*connection, iccid));
    if (!open) {
      return Status(ErrorCode::kConflict,
                    "no download order of this ICCID can be cancelled (none, or downloaded)");
    }
    if (matching_id && open->matching_id != std::string(*matching_id)) {
      return Status(ErrorCode::kNotFound, "the Matching ID is not this profile's");
    }
    // The profile first: if the device is fetching it right now, the profile has moved on and
    // the cancellation is refused.
    STATION_RETURN_IF_ERROR(deps.inventory.transition(iccid, inventory::ProfileState::kAvailable,
                                                      cause));
    if (final_status == FinalProfileStatus::kUnavailable) {
      STATION_RETURN_IF_ERROR(deps.inventory.transition(
          iccid, inventory::ProfileState::kAvailable, inventory::ProfileState::kUnavailable,
          cause));
    }
    return update_order(*connection, *open,
                        {{"state", std::string(kOrderCancelled)}, {"session_id", nullptr}});
  }

  // ---- ES9+ ---------------------------------------------------------------------------------

  Outcome<InitiateAuthenticationResult> initiate_authentication(Bytes euicc_challenge,
                                                                Bytes euicc_info1_der,
                                                                std::string smdp_address) {
    if (!boost_iequals(smdp_address, config.address)) {
      return refuse<InitiateAuthenticationResult>(
          failure("8.8.1", "3.8", "the SM-DP+ address is not this server's", "invalid_address"));
    }
    if (euicc_challenge.size() != kChallengeBytes) {
      return refuse<InitiateAuthenticationResult>(
          failure("8.1", "2.1", "euiccChallenge is not 16 bytes", "malformed"));
    }
    auto info1 = rsp::decode_euicc_info1(euicc_info1_der);
    if (!info1.is_ok()) {
      return refuse<InitiateAuthenticationResult>(
          failure("8.1", "2.1", info1.status().message(), "malformed"));
    }
    if (info1->svn.empty() || info1->svn[0] != 2) {
      return refuse<InitiateAuthenticationResult>(
          failure("8.8.3", "3.1", "only SGP.22 v2 eUICCs are supported", "unsupported_version"));
    }
    const CiCredentials* credentials = nullptr;
    Bytes ci_pkid;
    for (const auto& candidate : info1->ci_pkids_for_verification) {
      if ((credentials = credentials_for(candidate)) != nullptr) {
        ci_pkid = candidate;
        break;
      }
    }
    if (credentials == nullptr) {
      return refuse<InitiateAuthenticationResult>(failure(
          "8.8.2", "3.1",
          "none of the eUICC's CI public key identifiers is one this SM-DP+ trusts",
          "unsupported_ci"));
    }
    auto transaction = random_bytes(kTransactionIdBytes);
    if (!transaction.is_ok()) return transaction.status();
    auto server_challenge = random_bytes(kChallengeBytes);
    if (!server_challenge.is_ok()) return server_challenge.status();

    rsp::ServerSigned1 signed1{*transaction, euicc_challenge, config.address, *server_challenge};
    auto signed1_der = rsp::encode(signed1);
    if (!signed1_der.is_ok()) return signed1_der.status();
    auto signature = rsp_crypto::sign(credentials->dp_auth.key, *signed1_der);
    if (!signature.is_ok()) return signature.status();
    auto signature_tlv = tlv(kSignatureTag, *signature);
    auto pkid_tlv = tlv(der::kOctetString, ci_pkid);
    auto certificate = credentials->dp_auth.certificate.der();
    if (!signature_tlv.is_ok() || !pkid_tlv.is_ok() || !certificate.is_ok()) {
      return Status(ErrorCode::kInternal, "encoding InitiateAuthentication's answer");
    }

    const std::string transaction_id = upper_hex(*transaction);
    auto connection = deps.database.acquire();
    if (!connection.is_ok()) return connection.status();
    std::vector<Value> params = {
        transaction_id,
        std::string(kInitiated),
        rsp_crypto::to_hex(euicc_challenge),
        rsp_crypto::to_hex(*server_challenge),
        rsp_crypto::to_hex(ci_pkid),
        now_ms() + std::int64_t{config.session_ttl_seconds} * 1000,
        now_ms(),
        now_ms()};
    // Deferred durability: a session lost to a power cut before the disk has it only makes the
    // LPA's next call fail with an unknown transaction, and the LPA starts again.
    auto session_insert =
        storage::Transaction::begin(**connection, storage::Durability::kDeferred);
    if (!session_insert.is_ok()) return session_insert.status();
    Status inserted = (*connection)
                          ->execute("INSERT INTO smdp_sessions (transaction_id, state, "
                                    "euicc_challenge, server_challenge, ci_pkid, expires_at_ms, "
                                    "version, created_at_ms, updated_at_ms) "
                                    "VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
                                    params);
    if (inserted.is_ok()) inserted = session_insert->commit();
    if (!inserted.is_ok()) return inserted;
    started.add();
    return InitiateAuthenticationResult{transaction_id, std::move(*signed1_der),
                                        std::move(*signature_tlv), std::move(*pkid_tlv),
                                        std::move(*certificate)};
  }

  static bool boost_iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) ==
                    std::tolower(static_cast<unsigned char>(y));
           });
  }

  Result<Bytes> profile_metadata(const inventory::Profile& profile) {
    STATION_ASSIGN_OR_RETURN(auto iccid, upp::encode_iccid(profile.iccid));
    rsp::StoreMetadataRequest metadata;
    metadata.iccid = std::move(iccid);
    metadata.service_provider_name = config.service_provider_name;
    metadata.profile_name =
        profile.profile_type.empty() ? config.service_provider_name : profile.profile_type;
    metadata.profile_class = 2;  // operational
    // Enable, disable and delete are reported here, or to the operator's receiver, so that the
    // order follows the device.
    metadata.notification_configuration_info = std::vector<rsp::NotificationConfiguration>{
        {rsp::kNotificationEnable | rsp::kNotificationDisable | rsp::kNotificationDelete,
         config.notification_address.empty() ? config.address : config.notification_address}};
    return rsp::encode(metadata);
  }

  Outcome<AuthenticateClientResult> authenticate_client(std::string_view transaction_id,
                                                        const Bytes& response_der) {
    using R = AuthenticateClientResult;
    auto connection = deps.database.acquire();
    if (!connection.is_ok()) return connection.status();
    Connection& db = **connection;
    auto live = live_session(db, transaction_id, kInitiated);
    if (!live.ok()) {
      if (live.failure()) return refuse<R>(*live.failure());
      return *live.error();
    }
    SessionRow session = std::move(live.value());

    auto decoded = rsp::decode_authenticate_server_response(response_der);
    if (!decoded.is_ok()) {
      return fail_session<R>(db, session,
                             failure("8.1", "2.1", decoded.status().message(), "malformed"));
    }
    if (auto* error = std::get_if<rsp::AuthenticateResponseError>(&*decoded)) {
      return fail_session<R>(
          db, session,
          failure("8.1", "6.1",
                  fmt::format("the eUICC refused the SM-DP+ (AuthenticateErrorCode {})",
                              error->code),
                  "euicc_refused"));
    }
    const auto& ok = std::get<rsp::AuthenticateResponseOk>(*decoded);
    const auto& signed1 = ok.euicc_signed1;
    if (upper_hex(signed1.transaction_id) != session.transaction_id) {
      return fail_session<R>(db, session, unknown_transaction());
    }
    if (signed1.server_challenge != session.server_challenge ||
        !boost_iequals(signed1.server_address, config.address)) {
      return fail_session<R>(
          db, session,
          failure("8.1", "6.1", "euiccSigned1 does not answer this session's challenge",
                  "invalid_signature"));
    }

    // Certificates: the EUM must be issued by a CI this SM-DP+ trusts, then the whole chain.
    auto eum = eum_certificates.parse(ok.eum_certificate);
    if (!eum.is_ok()) {
      return fail_session<R>(db, session,
                             failure("8.1.2", "6.1", "the EUM certificate is malformed",
                                     "invalid_certificate"));
    }
    auto euicc = rsp_crypto::Certificate::from_der(ok.euicc_certificate);
    if (!euicc.is_ok()) {
      return fail_session<R>(db, session,
                             failure("8.1.3", "6.1", "the eUICC certificate is malformed",
                                     "invalid_certificate"));
    }
    if (credentials_for(eum->authority_key_identifier()) == nullptr) {
      return fail_session<R>(
          db, session,
          failure("8.11.1", "3.9", "the eUICC's certificates chain to a CI this SM-DP+ does not "
                                   "trust",
                  "unknown_ci"));
    }
    auto trusted = trusted_cis();
    auto verdict = rsp_crypto::check_euicc_certificates(*euicc, *eum, trusted, now_ms() / 1000);
    if (!verdict.status.is_ok()) {
      // SGP.22 AuthenticateClient: 8.1.2 the EUM certificate, 8.1.3 the eUICC's; 6.3 expired,
      // 6.1 otherwise invalid.
      const bool of_eum = verdict.faulty == rsp_crypto::EuiccChainPart::kEum;
      return fail_session<R>(
          db, session,
          failure(of_eum ? "8.1.2" : "8.1.3", verdict.expired ? "6.3" : "6.1",
                  verdict.status.message(),
                  verdict.expired ? "expired_certificate" : "invalid_certificate"));
    }
    eum_certificates.remember(ok.eum_certificate, *eum);
    const std::string& eid = verdict.eid;
    auto euicc_key = euicc->public_key();
    if (!euicc_key.is_ok() ||
        !rsp_crypto::verify(*euicc_key, ok.euicc_signed1_der, ok.euicc_signature1).is_ok()) {
      return fail_session<R>(db, session,
                             failure("8.1", "6.1", "euiccSignature1 does not verify",
                                     "invalid_signature"));
    }
    auto euicc_point = rsp_crypto::public_point(*euicc_key);
    if (!euicc_point.is_ok()) return euicc_point.status();

    // The download order of the Matching ID.
    auto ctx = rsp::decode_ctx_params1(signed1.ctx_params1);
    if (!ctx.is_ok() || !ctx->matching_id || ctx->matching_id->empty()) {
      return fail_session<R>(db, session,
                             failure("8.2.6", "3.8", "no Matching ID was presented",
                                     "unknown_matching_id"));
    }
    auto found = find_order(db, "matching_id = ?", *ctx->matching_id);
    if (!found.is_ok()) return found.status();
    if (!*found) {
      return fail_session<R>(db, session,
                             failure("8.2.6", "3.8", "the Matching ID is unknown",
                                     "unknown_matching_id"));
    }
    DownloadOrderRow order = std::move(**found);
    // From here on a refusal concerns the operator's order: notification point 1.
    auto refuse_order = [&](Es9Failure why) {
      tell_operator(order, eid, NotificationPoint::kEligibilityCheck, &why);
      return fail_session<R>(db, session, std::move(why));
    };
    if (order.state == kOrderCancelled) {
      return refuse_order(failure("8.2.6", "3.8", "the order of this Matching ID was cancelled",
                                  "order_cancelled"));
    }
    if (order.state == kError && order.cc_failures >= config.cc_attempts_max) {
      return refuse_order(failure("8.2.7", "6.4",
                                  "too many wrong confirmation codes; the operator must reissue",
                                  "cc_attempts_exceeded"));
    }
    if (order.state == kAllocated || order.state == kLinked || order.state == kConfirmed) {
      return refuse_order(
          failure("8.2", "1.2", "the profile has not been released yet", "not_released"));
    }
    if (order.state != kReleased) {
      return refuse_order(failure("8.2.6", "3.8",
                                  "the Matching ID was already used to download its profile",
                                  "matching_id_used"));
    }
    if (order.expires_at_ms <= now_ms()) {
      return refuse_order(
          failure("8.8.5", "4.10", "the download order has expired", "order_expired"));
    }
    if (order.eid && *order.eid != eid) {
      return refuse_order(
          failure("8.1.1", "3.8", "the order is bound to another eUICC (EID)", "eid_mismatch"));
    }
    if (order.session_id && *order.session_id != session.transaction_id) {
      auto holder = load_session(db, *order.session_id);
      if (!holder.is_ok()) return holder.status();
      if (*holder && session_is_live((*holder)->state) && (*holder)->expires_at_ms > now_ms()) {
        return refuse_order(failure("8.2.6", "3.8",
                                    "another download of this Matching ID is in progress",
                                    "matching_id_in_use"));
      }
    }

    // Answer: smdpSigned2 and its signature over smdpSigned2 || euiccSignature1 (5F37).
    const CiCredentials* credentials = credentials_for(session.ci_pkid);
    if (credentials == nullptr) {
      return Status(ErrorCode::kInternal, "the session's CI is no longer configured");
    }
    rsp::SmdpSigned2 signed2{*rsp_crypto::from_hex(session.transaction_id),
                             order.cc_hash.has_value(), std::nullopt};
    auto signed2_der = rsp::encode(signed2);
    auto euicc_signature1_tlv = tlv(kSignatureTag, ok.euicc_signature1);
    if (!signed2_der.is_ok() || !euicc_signature1_tlv.is_ok()) {
      return Status(ErrorCode::kInternal, "encoding smdpSigned2");
    }
    auto signature2 =
        rsp_crypto::sign(credentials->dp_pb.key, concat(*signed2_der, *euicc_signature1_tlv));
    if (!signature2.is_ok()) return signature2.status();
    auto signature2_tlv = tlv(kSignatureTag, *signature2);
    auto profile = deps.inventory.get(db, order.iccid);
    auto metadata = profile.is_ok() ? profile_metadata(*profile) : profile.status();
    auto certificate = credentials->dp_pb.certificate.der();
    if (!signature2_tlv.is_ok() || !metadata.is_ok() || !certificate.is_ok()) {
      return Status(ErrorCode::kInternal, "encoding AuthenticateClient's answer");
    }

    // Claim the order for this session, then record what the session learnt. Deferred
    // durability: were both lost to a power cut, the order is unclaimed again and the session
    // unknown, so getBoundProfilePackage fails and the LPA starts again; nothing was bound to
    // the eUICC yet. getBoundProfilePackage's commit, which binds the profile, is durable.
    auto transaction = storage::Transaction::begin(db, storage::Durability::kDeferred);
    if (!transaction.is_ok()) return transaction.status();
    Status claimed = update_order(db, order, {{"session_id", session.transaction_id}});
    if (claimed.code() == ErrorCode::kConflict) {
      // Another session claimed the order first. The claim changed nothing; ending its
      // transaction keeps this session's failure, which a rollback would undo.
      (void)transaction->commit();
      return fail_session<R>(
          db, session,
          failure("8.2.6", "3.8", "another download of this Matching ID is in progress",
                  "matching_id_in_use"));
    }
    if (!claimed.is_ok()) return claimed;
    Status recorded =
        update_session(db, session,
                       {{"state", std::string(kAuthenticated)},
                        {"download_order_id", order.id},
                        {"eid", eid},
                        {"smdp_signature2", rsp_crypto::to_hex(*signature2_tlv)},
                        {"euicc_public_key", rsp_crypto::to_hex(*euicc_point)},
                        {"euicc_key_curve",
                         std::string(rsp_crypto::curve_name(euicc_key->curve()))}});
    if (recorded.code() == ErrorCode::kConflict) return unknown_transaction();
    if (!recorded.is_ok()) return recorded;
    if (Status committed = transaction->commit(); !committed.is_ok()) return committed;
    tell_operator(order, eid, NotificationPoint::kEligibilityCheck, nullptr);
    return R{session.transaction_id, std::move(*metadata), std::move(*signed2_der),
             std::move(*signature2_tlv), std::move(*certificate)};
  }

  // A wrong or missing confirmation code: counted; the session ends; at the limit the order
  // is locked (error) until the operator reissues it.
  Outcome<BoundProfilePackageResult> refuse_code(Connection& db, const SessionRow& session,
                                                 const DownloadOrderRow& order, bool missing) {
    using R = BoundProfilePackageResult;
    auto refuse_order = [&](Es9Failure why) {
      tell_operator(order, session.eid, NotificationPoint::kConfirmationFailure, &why);
      return fail_session<R>(db, session, std::move(why));
    };
    if (missing) {
      return refuse_order(
          failure("8.2.7", "2.2", "the confirmation code is missing", "cc_missing"));
    }
    const std::int64_t failures = order.cc_failures + 1;
    const bool locked = failures >= config.cc_attempts_max;
    std::vector<std::pair<std::string_view, Value>> columns = {{"cc_failures", failures},
                                                               {"session_id", nullptr}};
    if (locked) columns.emplace_back("state", kError);
    Status counted = update_order(db, order, std::move(columns));
    if (!counted.is_ok() && counted.code() != ErrorCode::kConflict) return counted;
    if (locked) {
      (void)deps.inventory.transition(order.iccid, inventory::ProfileState::kReleased,
                                      inventory::ProfileState::kError,
                                      "too many wrong confirmation codes");
      return refuse_order(failure("8.2.7", "6.4",
                                  "too many wrong confirmation codes; the operator must reissue",
                                  "cc_attempts_exceeded"));
    }
    return refuse_order(
        failure("8.2.7", "3.8",
                fmt::format("the confirmation code is wrong ({} of {} attempts left)",
                            config.cc_attempts_max - failures, config.cc_attempts_max),
                "cc_wrong"));
  }

  Outcome<BoundProfilePackageResult> get_bound_profile_package(std::string_view transaction_id,
                                                               const Bytes& response_der) {
    using R = BoundProfilePackageResult;
    auto connection = deps.database.acquire();
    if (!connection.is_ok()) return connection.status();
    Connection& db = **connection;
    auto live = live_session(db, transaction_id, kAuthenticated);
    if (!live.ok()) {
      if (live.failure()) return refuse<R>(*live.failure());
      return *live.error();
    }
    SessionRow session = std::move(live.value());
    auto found = find_order(db, "id = ?", session.download_order_id.value_or(0));
    if (!found.is_ok()) return found.status();
    if (!*found || (*found)->session_id != session.transaction_id ||
        (*found)->state != kReleased) {
      return fail_session<R>(db, session,
                             failure("8.2.6", "3.8", "the download order is no longer available",
                                     "order_unavailable"));
    }
    DownloadOrderRow order = std::move(**found);

    auto decoded = rsp::decode_prepare_download_response(response_der);
    if (!decoded.is_ok()) {
      return fail_session<R>(db, session,
                             failure("8.1", "2.1", decoded.status().message(), "malformed"));
    }
    if (auto* error = std::get_if<rsp::PrepareDownloadResponseError>(&*decoded)) {
      return fail_session<R>(
          db, session,
          failure("8.1", "6.1",
                  fmt::format("the eUICC refused the download (DownloadErrorCode {})",
                              error->code),
                  "euicc_refused"));
    }
    const auto& ok = std::get<rsp::PrepareDownloadResponseOk>(*decoded);
    if (upper_hex(ok.euicc_signed2.transaction_id) != session.transaction_id) {
      return fail_session<R>(db, session, unknown_transaction());
    }
    auto euicc_key = euicc_key_of(session);
    if (!euicc_key.is_ok()) return euicc_key.status();
    if (!rsp_crypto::verify(*euicc_key, concat(ok.euicc_signed2_der, session.smdp_signature2),
                            ok.euicc_signature2)
             .is_ok()) {
      return fail_session<R>(db, session,
                             failure("8.1", "6.1", "euiccSignature2 does not verify",
                                     "invalid_signature"));
    }
    if (order.cc_hash) {
      if (!ok.euicc_signed2.hash_cc) return refuse_code(db, session, order, true);
      auto code_hash = rsp_crypto::from_hex(*order.cc_hash);
      auto transaction = rsp_crypto::from_hex(session.transaction_id);
      if (!code_hash.is_ok() || !transaction.is_ok()) {
        return Status(ErrorCode::kInternal, "stored hashes are hex");
      }
      Bytes joined = concat(*code_hash, *transaction);
      std::string expected = auth::sha256_hex(
          std::string_view(reinterpret_cast<const char*>(joined.data()), joined.size()));
      if (rsp_crypto::to_hex(*ok.euicc_signed2.hash_cc) != expected) {
        return refuse_code(db, session, order, false);
      }
    }

    auto package = build_bpp(db, session, order, *euicc_key, ok.euicc_signed2.euicc_otpk);
    if (!package.is_ok()) {
      if (package.status().code() == ErrorCode::kValidationFailed) {
        return fail_session<R>(db, session,
                               failure("8.1", "2.1", package.status().message(), "malformed"));
      }
      return package.status();
    }

    // The profile is this session's now: compare-and-set released -> downloaded. Of two
    // sessions that got this far for one profile, only one passes. The profile, the order and
    // the session move in one transaction: one commit, and never one without the others.
    auto transaction = storage::Transaction::begin(db);
    if (!transaction.is_ok()) return transaction.status();
    Status taken = deps.inventory.transition(db, order.iccid, inventory::ProfileState::kReleased,
                                             inventory::ProfileState::kDownloaded,
                                             "bound profile package delivered, session " +
                                                 session.transaction_id);
    if (taken.code() == ErrorCode::kConflict) {
      // The refusal changed nothing; ending the transaction keeps the session's failure, which
      // a rollback would undo.
      (void)transaction->commit();
      return fail_session<R>(db, session,
                             failure("8.2.6", "3.8",
                                     "the Matching ID was already used to download its profile",
                                     "matching_id_used"));
    }
    if (!taken.is_ok()) return taken;
    Status moved = update_order(db, order, {{"state", kDownloaded}});
    if (moved.is_ok()) {
      moved = update_session(db, session,
                             {{"state", std::string(kBppDelivered)},
                              {"euicc_otpk", rsp_crypto::to_hex(ok.euicc_signed2.euicc_otpk)},
                              {"smdp_otpk", package->smdp_otpk_hex}});
    }
    if (moved.is_ok()) moved = transaction->commit();
    if (!moved.is_ok()) {
      spdlog::error("smdp: session {}: profile {} delivered but not recorded: {}",
                    session.transaction_id, order.iccid, moved.to_string());
      return moved;
    }
    completed.add();
    report(order, DownloadProgress::kDownloaded, "bound profile package delivered");
    tell_operator(order, session.eid, NotificationPoint::kBppDownload, nullptr);
    return R{session.transaction_id, std::move(package->bpp)};
  }

  struct BuiltPackage {
    Bytes bpp;
    std::string smdp_otpk_hex;
  };

  // Reads the profile on `db`, the connection the call holds already.
  Result<BuiltPackage> build_bpp(Connection& db, const SessionRow& session,
                                 const DownloadOrderRow& order,
                                 const rsp_crypto::EcKey& euicc_key, const Bytes& euicc_otpk) {
    const CiCredentials* credentials = credentials_for(session.ci_pkid);
    if (credentials == nullptr) {
      return Status(ErrorCode::kInternal, "the session's CI is no longer configured");
    }
    // One-time key agreement on the eUICC's curve; the keys are this session's alone. The
    // one-time private key lives only in this call, never stored: once the package is built no
    // one, not even with the database and the keyring, can derive its session keys again.
    STATION_ASSIGN_OR_RETURN(auto their_key,
                             rsp_crypto::public_key_from_point(euicc_key.curve(), euicc_otpk));
    STATION_ASSIGN_OR_RETURN(auto own_key, rsp_crypto::generate_key(euicc_key.curve()));
    STATION_ASSIGN_OR_RETURN(auto own_point, rsp_crypto::public_point(own_key));
    STATION_ASSIGN_OR_RETURN(auto shared, rsp_crypto::shared_secret(own_key, their_key));
    STATION_ASSIGN_OR_RETURN(auto eid, rsp_crypto::eid_bytes(session.eid));
    const der::ByteView host_id = der::as_bytes(config.host_id);
    STATION_ASSIGN_OR_RETURN(auto keys,
                             rsp_crypto::derive_session_keys(shared.view(), host_id, eid));
    STATION_ASSIGN_OR_RETURN(auto transaction_id, rsp_crypto::from_hex(session.transaction_id));

    // InitialiseSecureChannel: smdpSign covers its data objects before smdpSign, followed by
    // the eUICC's otPK TLV. The codec gives back exactly those bytes (signed_part).
    rsp::InitialiseSecureChannelRequest channel;
    channel.remote_op_id = 1;  // installBoundProfilePackage
    channel.transaction_id = transaction_id;
    channel.control_ref_template.host_id.assign(host_id.begin(), host_id.end());
    channel.smdp_otpk = own_point;
    channel.smdp_sign.assign(rsp_crypto::kPlainSignatureBytes, 0);
    STATION_ASSIGN_OR_RETURN(auto unsigned_der, rsp::encode(channel));
    STATION_ASSIGN_OR_RETURN(auto parsed, rsp::decode_initialise_secure_channel_request(unsigned_der));
    STATION_ASSIGN_OR_RETURN(auto euicc_otpk_tlv, tlv(kPublicKeyTag, euicc_otpk));
    STATION_ASSIGN_OR_RETURN(channel.smdp_sign,
                             rsp_crypto::sign(credentials->dp_pb.key,
                                              concat(parsed.signed_part, euicc_otpk_tlv)));

    rsp::BoundProfilePackage bpp;
    STATION_ASSIGN_OR_RETURN(bpp.initialise_secure_channel_request, rsp::encode(channel));
    rsp_crypto::Scp03tState scp(keys);
    STATION_ASSIGN_OR_RETURN(auto configure, rsp::encode(rsp::ConfigureIsdpRequest{}));
    STATION_ASSIGN_OR_RETURN(auto configure_segment,
                             rsp_crypto::protect_segment(scp, kConfigureIsdpSegmentTag, configure));
    bpp.first_sequence_of87.push_back(std::move(configure_segment));
    STATION_ASSIGN_OR_RETURN(auto profile, deps.inventory.get(db, order.iccid));
    STATION_ASSIGN_OR_RETURN(auto metadata, profile_metadata(profile));
    for (der::ByteView part : chunks(metadata, rsp_crypto::kMaxMacOnlySegmentData)) {
      STATION_ASSIGN_OR_RETURN(auto segment,
                               rsp_crypto::mac_segment(scp, kStoreMetadataSegmentTag, part));
      bpp.sequence_of88.push_back(std::move(segment));
    }
    {
      // The profile itself: Ki and OPc in clear only inside this scope.
      STATION_ASSIGN_OR_RETURN(auto secrets, deps.inventory.read_secrets(db, order.iccid));
      STATION_ASSIGN_OR_RETURN(
          auto package,
          config.profile_template.build(
              upp::UppInput{profile.iccid, profile.imsi, secrets, profile.profile_type}));
      der::ByteView plain = der::as_bytes(package.view());
      for (der::ByteView part : chunks(plain, rsp_crypto::kMaxEncryptedSegmentPlaintext)) {
        STATION_ASSIGN_OR_RETURN(auto segment,
                                 rsp_crypto::protect_segment(scp, kProfileSegmentTag, part));
        bpp.sequence_of86.push_back(std::move(segment));
      }
    }
    BuiltPackage built;
    STATION_ASSIGN_OR_RETURN(built.bpp, rsp::encode(bpp));
    built.smdp_otpk_hex = rsp_crypto::to_hex(own_point);
    return built;
  }

  Outcome<Empty> cancel_session(std::string_view transaction_id, const Bytes& response_der) {
    auto connection = deps.database.acquire();
    if (!connection.is_ok()) return connection.status();
    Connection& db = **connection;
    auto loaded = load_session(db, transaction_id);
    if (!loaded.is_ok()) return loaded.status();
    // Only a session the eUICC took part in can be cancelled: its certificate verifies the
    // card's signed cancellation.
    if (!*loaded || ((*loaded)->state != kAuthenticated && (*loaded)->state != kBppDelivered) ||
        (*loaded)->expires_at_ms <= now_ms()) {
      return refuse<Empty>(unknown_transaction());
    }
    const SessionRow& session = **loaded;
    auto decoded = rsp::decode_cancel_session_response(response_der);
    if (!decoded.is_ok()) {
      return refuse<Empty>(failure("8.1", "2.1", decoded.status().message(), "malformed"));
    }
    auto* ok = std::get_if<rsp::CancelSessionResponseOk>(&*decoded);
    if (ok == nullptr) {
      return refuse<Empty>(failure("8.1", "6.1", "the eUICC did not sign a cancellation",
                                   "euicc_refused"));
    }
    if (upper_hex(ok->euicc_cancel_session_signed.transaction_id) != session.transaction_id) {
      return refuse<Empty>(unknown_transaction());
    }
    auto euicc_key = euicc_key_of(session);
    if (!euicc_key.is_ok()) return euicc_key.status();
    if (!rsp_crypto::verify(*euicc_key, ok->euicc_cancel_session_signed_der,
                            ok->euicc_cancel_session_signature)
             .is_ok()) {
      return refuse<Empty>(failure("8.1", "6.1", "euiccCancelSessionSignature does not verify",
                                   "invalid_signature"));
    }
    auto transaction = storage::Transaction::begin(db);
    if (!transaction.is_ok()) return transaction.status();
    Status ended = update_session(db, session,
                                  {{"state", std::string(kCancelled)},
                                   {"failure_reason", "cancelled by the eUICC"}});
    if (ended.is_ok() && session.download_order_id && session.state != kBppDelivered) {
      std::array<Value, 3> params = {now_ms(), *session.download_order_id,
                                     session.transaction_id};
      ended = db.execute(
          "UPDATE smdp_download_orders SET session_id = NULL, version = version + 1, "
          "updated_at_ms = ? WHERE id = ? AND session_id = ?",
          params);
    }
    if (ended.is_ok()) ended = transaction->commit();
    if (ended.code() == ErrorCode::kConflict) return refuse<Empty>(unknown_transaction());
    if (!ended.is_ok()) return ended;
    return Empty{};
  }

  // ---- notifications ----------------------------------------------------------------------

  void count_notification(std::string_view outcome) {
    deps.metrics
        .counter("station_smdp_notifications_total",
                 "ES9+ notifications received, by outcome", {{"outcome", std::string(outcome)}})
        .add();
  }

  Status handle_notification(const Bytes& der) {
    auto decoded = rsp::decode_pending_notification(der);
    if (!decoded.is_ok()) {
      count_notification("malformed");
      return Status::ok();  // answered 204 whatever it was: the LPA cannot do better
    }
    if (auto* result = std::get_if<rsp::ProfileInstallationResult>(&*decoded)) {
      return handle_installation_result(*result, der);
    }
    return handle_other_notification(std::get<rsp::OtherSignedNotification>(*decoded));
  }

  // `result_der`: the ProfileInstallationResult as received (the operator's resultData).
  Status handle_installation_result(const rsp::ProfileInstallationResult& result,
                                    const Bytes& result_der) {
    STATION_ASSIGN_OR_RETURN(auto connection, deps.database.acquire());
    Connection& db = *connection;
    const std::string transaction_id = upper_hex(result.data.transaction_id);
    STATION_ASSIGN_OR_RETURN(auto loaded, load_session(db, transaction_id));
    if (!loaded || loaded->state != kBppDelivered || !loaded->download_order_id) {
      count_notification(loaded && loaded->state == "completed" ? "repeated" : "unknown_session");
      return Status::ok();
    }
    const SessionRow& session = *loaded;
    STATION_ASSIGN_OR_RETURN(auto euicc_key, euicc_key_of(session));
    if (!rsp_crypto::verify(euicc_key, result.data_der, result.euicc_sign_pir).is_ok()) {
      count_notification("invalid_signature");
      return Status::ok();
    }
    STATION_ASSIGN_OR_RETURN(auto found, find_order(db, "id = ?", *session.download_order_id));
    if (!found || found->state != kDownloaded) {
      count_notification("unknown_session");
      return Status::ok();
    }
    const DownloadOrderRow& order = *found;
    const bool installed =
        std::holds_alternative<rsp::ProfileInstallationSuccess>(result.data.final_result);
    const auto to = installed ? inventory::ProfileState::kInstalled : inventory::ProfileState::kError;
    // The profile, the order and the session in one commit.
    STATION_ASSIGN_OR_RETURN(auto transaction, storage::Transaction::begin(db));
    STATION_RETURN_IF_ERROR(deps.inventory.transition(
        db, order.iccid, inventory::ProfileState::kDownloaded, to,
        installed ? "installed on the eUICC" : "the eUICC refused the profile"));
    STATION_RETURN_IF_ERROR(update_order(db, order, {{"state", state_of(to)}}));
    STATION_RETURN_IF_ERROR(update_session(
        db, session, {{"state", std::string(installed ? "completed" : kFailed)}}));
    STATION_RETURN_IF_ERROR(transaction.commit());
    count_notification(installed ? "installed" : "install_failed");
    report(order, installed ? DownloadProgress::kInstalled : DownloadProgress::kFailed,
           installed ? "installed on the eUICC" : "the eUICC refused the profile");
    Es9Failure refused = failure("8.1", "6.1", "the eUICC refused the profile", "");
    tell_operator(order, session.eid, NotificationPoint::kBppInstallation,
                  installed ? nullptr : &refused, &result_der);
    return Status::ok();
  }

  Status handle_other_notification(const rsp::OtherSignedNotification& notification) {
    auto trusted = trusted_cis();
    CheckedNotice checked =
        check_profile_notice(notification, trusted, now_ms() / 1000, eum_certificates);
    if (checked.fault != NoticeFault::kNone) {
      count_notification(fault_name(checked.fault));
      return Status::ok();
    }
    const std::string& iccid = checked.notice.iccid;
    const std::string& eid = checked.notice.eid;
    STATION_ASSIGN_OR_RETURN(auto connection, deps.database.acquire());
    Connection& db = *connection;
    // The installed download of this profile on this eUICC.
    std::array<Value, 2> params = {iccid, eid};
    STATION_ASSIGN_OR_RETURN(
        auto rows,
        db.query(fmt::format("SELECT {} FROM smdp_download_orders o WHERE o.iccid = ? AND "
                             "o.state = 'installed' AND EXISTS (SELECT 1 FROM smdp_sessions s "
                             "WHERE s.download_order_id = o.id AND s.eid = ?) "
                             "ORDER BY o.id DESC LIMIT 1",
                             prefixed_columns("o.")),
                 params));
    if (rows.empty()) {
      count_notification("unknown_profile");
      return Status::ok();
    }
    DownloadOrderRow order = download_order_from_row(rows[0]);
    const auto operation = checked.notice.operation;
    if (operation & rsp::kNotificationEnable) {
      count_notification("enabled");
      report(order, DownloadProgress::kEnabled, "enabled on the eUICC");
    } else if (operation & rsp::kNotificationDelete) {
      // Deleted on the device: the profile is out of use until the operator makes it
      // available again (its Ki/OPc were on that device).
      STATION_RETURN_IF_ERROR(deps.inventory.transition(
          iccid, inventory::ProfileState::kInstalled, inventory::ProfileState::kUnavailable,
          "deleted on the eUICC; the operator decides whether it is available again"));
      STATION_RETURN_IF_ERROR(update_order(db, order, {{"state", std::string("deleted")}}));
      count_notification("deleted");
    } else {
      count_notification("disabled");
    }
    return Status::ok();
  }

  static std::string prefixed_columns(std::string_view prefix) {
    std::string out;
    std::string_view rest = kDownloadOrderColumns;
    while (!rest.empty()) {
      auto comma = rest.find(", ");
      out += fmt::format("{}{}{}", out.empty() ? "" : ", ", prefix, rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 2);
    }
    return out;
  }
};

namespace {

class StationEs2 final : public orders::Es2Port {
 public:
  explicit StationEs2(Smdp& smdp) : smdp_(smdp) {}

  Status confirm(Id order_id, const std::string& iccid, const std::string& matching_id,
                 const std::optional<std::string>& eid,
                 const std::optional<std::string>& confirmation_code_hash) override {
    DownloadOrderRequest order{iccid, std::nullopt, eid, order_id, "station orders"};
    STATION_RETURN_IF_ERROR(smdp_.download_order(order).status());
    ConfirmOrderRequest confirm{iccid, matching_id, eid, confirmation_code_hash, true};
    return smdp_.confirm_order(confirm).status();
  }

  Status cancel(const std::string& iccid, const std::string& matching_id,
                std::string_view cause) override {
    return smdp_.cancel_order(iccid, matching_id, FinalProfileStatus::kAvailable, cause);
  }

 private:
  Smdp& smdp_;
};

}  // namespace

std::unique_ptr<orders::Es2Port> make_es2_port(Smdp& smdp) {
  return std::make_unique<StationEs2>(smdp);
}

Smdp::Smdp(SmdpDependencies dependencies, SmdpConfig config)
    : impl_(std::make_unique<Impl>(dependencies, std::move(config))) {
  assert(check_config(impl_->config).is_ok());
}
Smdp::~Smdp() = default;

const SmdpConfig& Smdp::config() const { return impl_->config; }

void Smdp::set_progress_callbacks(ProgressCallbacks* callbacks) {
  impl_->progress_callbacks.store(callbacks);
}

void Smdp::set_progress_listener(ProgressListener listener) {
  std::lock_guard lock(impl_->listener_mutex);
  impl_->listener = std::move(listener);
}

Result<std::string> Smdp::download_order(const DownloadOrderRequest& request) {
  return impl_->download_order(request);
}
Result<ConfirmOrderResult> Smdp::confirm_order(const ConfirmOrderRequest& request) {
  return impl_->confirm_order(request);
}
Status Smdp::cancel_order(std::string_view iccid, std::optional<std::string_view> matching_id,
                          FinalProfileStatus final_status, std::string_view cause) {
  return impl_->cancel_order(iccid, matching_id, final_status, cause);
}
Status Smdp::release_profile(std::string_view iccid) { return impl_->release_profile(iccid); }

Outcome<InitiateAuthenticationResult> Smdp::initiate_authentication(Bytes euicc_challenge,
                                                                    Bytes euicc_info1,
                                                                    std::string smdp_address) {
  return impl_->initiate_authentication(std::move(euicc_challenge), std::move(euicc_info1),
                                        std::move(smdp_address));
}
Outcome<AuthenticateClientResult> Smdp::authenticate_client(
    std::string_view transaction_id, const Bytes& authenticate_server_response) {
  return impl_->authenticate_client(transaction_id, authenticate_server_response);
}
Outcome<BoundProfilePackageResult> Smdp::get_bound_profile_package(
    std::string_view transaction_id, const Bytes& prepare_download_response) {
  return impl_->get_bound_profile_package(transaction_id, prepare_download_response);
}
Status Smdp::handle_notification(const Bytes& pending_notification) {
  return impl_->handle_notification(pending_notification);
}
Outcome<Empty> Smdp::cancel_session(std::string_view transaction_id,
                                    const Bytes& cancel_session_response) {
  return impl_->cancel_session(transaction_id, cancel_session_response);
}

Result<std::size_t> Smdp::delete_abandoned_sessions(std::size_t limit) {
  STATION_ASSIGN_OR_RETURN(auto connection, impl_->deps.database.acquire());
  const Value params[] = {impl_->now_ms(), static_cast<std::int64_t>(limit)};
  STATION_RETURN_IF_ERROR(connection->execute(
      "DELETE FROM smdp_sessions WHERE transaction_id IN (SELECT transaction_id FROM "
      "smdp_sessions WHERE download_order_id IS NULL AND expires_at_ms <= ? LIMIT ?)",
      params));
  const auto deleted = static_cast<std::size_t>(connection->changes());
  impl_->abandoned_deleted.add(deleted);
  return deleted;
}

}  // namespace station::smdp
