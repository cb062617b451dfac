// smdp/progress_callbacks: ES2+ HandleDownloadProgressInfo (GSMA SGP.22 5.3.5), the SM-DP+
// telling the operator how a download order it placed over ES2+ goes.
//
// The SM-DP+ reports these notification points of an operator's download order (Station's own
// orders follow their downloads in-process instead, smdp.h ProgressListener):
//   1 eligibility and retry limit check  authenticateClient took the order, or refused it
//   2 confirmation failure               a wrong or missing confirmation code
//   3 BPP download                       the Bound Profile Package was delivered
//   4 BPP installation                   the eUICC's ProfileInstallationResult (resultData)
// Each report becomes one row of smdp_progress_callbacks (durable: it survives a restart) with
// its JSON body fixed at that moment:
//   {"header": {"functionRequesterIdentifier": <SM-DP+ address>, "functionCallIdentifier": <id>},
//    "eid", "iccid", "profileType", "timestamp": "yyyy-MM-ddTHH:mm:ssZ", "notificationPointId",
//    "notificationPointStatus": {"status": "Executed-Success" | "Failed",
//                                "statusCodeData": {"subjectCode", "reasonCode", "message"}},
//    "resultData": base64 DER}
// and is POSTed to the configured operator URL over verified HTTPS with X-Admin-Protocol and,
// when configured, Authorization: Bearer <token> (the token is never logged). A 2xx answer is
// delivered. Otherwise the row is tried again after a back-off that doubles from retry_base_ms up
// to retry_max_ms, at most attempts_max times, then it is undeliverable (counted and logged).
// Rows go out in the order they were queued; a pass stops at the first failure so that a later
// point never overtakes an earlier one. At most queue_max rows wait: beyond it a report is
// dropped (counted, logged), not the SM-DP+'s work. The functionCallIdentifier stays the same on
// every try, so the operator can tell a repeat. One sender per database, or two processes could
// each send a row once: the sender runs only in the process that holds the store's ownership
// lock (storage::Database::lock_exclusive, which `station serve` and `station smdp` take at start
// and which a second process on the same SQLite file or PostgreSQL database cannot get), so
// start() asks for it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/id.h"
#include "common/result.h"
#include "http/client.h"
#include "metrics/registry.h"
#include "storage/database.h"

namespace station::smdp {

inline constexpr std::size_t kProgressCallbackBatch = 32;  // rows per delivery pass

struct ProgressCallbackConfig {
  std::string url;           // https://...; empty: no callbacks
  std::string ca_file;       // PEM trust anchors of the operator's TLS certificate
  std::string bearer_token;  // empty: no Authorization header
  std::uint32_t attempts_max = 8;
  std::uint32_t retry_base_ms = 5'000;
  std::uint32_t retry_max_ms = 15 * 60 * 1000;
  std::uint32_t timeout_ms = 10'000;  // per try
  std::uint32_t poll_interval_ms = 1'000;
  std::size_t queue_max = 10'000;
};
// kValidationFailed naming the fault (the link as check_es2_link wants it, positive limits).
Status check_config(const ProgressCallbackConfig& config);

enum class NotificationPoint : std::uint8_t {
  kEligibilityCheck = 1,
  kConfirmationFailure = 2,
  kBppDownload = 3,
  kBppInstallation = 4,
};

struct ProgressInfo {
  std::string eid;  // may be empty when not known yet
  std::string iccid;
  std::string profile_type;
  NotificationPoint point = NotificationPoint::kEligibilityCheck;
  bool success = true;
  std::string subject_code;  // when !success
  std::string reason_code;
  std::string message;
  std::optional<std::string> result_data_base64;  // point 4: the ProfileInstallationResult
};

class ProgressCallbacks {
 public:
  // REQUIRES: check_config(config) is ok; the dependencies outlive this object.
  ProgressCallbacks(storage::Database& database, IdGenerator& ids, const Clock& clock,
                    metrics::Registry& metrics, ProgressCallbackConfig config,
                    std::string requester_identifier);
  ~ProgressCallbacks();  // stops the sender
  ProgressCallbacks(const ProgressCallbacks&) = delete;
  ProgressCallbacks& operator=(const ProgressCallbacks&) = delete;

  // Queues one report. kUnavailable when queue_max rows wait already (the report is dropped).
  Status enqueue(const ProgressInfo& info);
  // One delivery pass over the rows due now: how many were delivered.
  Result<std::size_t> deliver_due();

  // A thread that runs deliver_due every poll_interval_ms until stop(). `owner` is this
  // process's hold on the store (it must outlive stop()): no other process sends meanwhile.
  void start(const storage::OwnershipLock& owner);
  void stop();

 private:
  struct Row;
  Status record_failure(const Row& row, std::string_view error);
  void count(std::string_view outcome);

  storage::Database& database_;
  IdGenerator& ids_;
  const Clock& clock_;
  metrics::Registry& metrics_;
  ProgressCallbackConfig config_;
  std::string requester_identifier_;
  http::Client client_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // GUARDED_BY(mutex_)
  bool pending_ = false;   // GUARDED_BY(mutex_): a report was queued since the last pass
  std::thread sender_;
};

}  // namespace station::smdp
