// Fuzz target: the JSON the operator's side of ES2+ reads from a remote SM-DP+: its answers to
// DownloadOrder/ConfirmOrder/... (smdp/es2_client.h parse_es2_answer, behind an HTTP status) and
// the HandleDownloadProgressInfo bodies it sends (smdp/progress_report.h). The first byte picks
// the parser and, for an answer, the HTTP status.
#include <cassert>
#include <cstdint>
#include <string_view>

#include "smdp/es2_client.h"
#include "smdp/progress_report.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  using namespace station::smdp;
  if (data[0] % 2 == 0) {
    auto report = parse_download_progress_info("application/json;charset=UTF-8", body);
    if (report.is_ok()) {
      assert(report->point >= NotificationPoint::kEligibilityCheck &&
             report->point <= NotificationPoint::kBppInstallation);
      assert(report->iccid.size() >= 18 && report->iccid.size() <= 20);
      (void)order_step_for(*report);
    }
  } else {
    static constexpr int kStatuses[] = {200, 200, 200, 401, 403, 500};
    const int status = kStatuses[(data[0] / 2) % 6];
    if (body.size() > kEs2ResponseBytesMax) return 0;  // the client reads no more
    auto answer = parse_es2_answer("downloadOrder", status, body);
    if (answer.is_ok()) assert(status == 200 && answer->is_object());
  }
  return 0;
}
