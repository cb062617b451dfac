// Fuzz target: vendor profile CSV files as the importer reads them (RFC 4180 quoting, CRLF,
// bounds), then the header and row checks on whatever parsed.
#include <cassert>
#include <cstdint>
#include <string_view>

#include "inventory/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const station::inventory::CsvLimits limits{64, 8, 64};
  auto records = station::inventory::parse_csv(text, limits);
  if (!records.is_ok()) return 0;
  assert(records->size() <= limits.records_max);
  [[maybe_unused]] std::size_t previous_line = 0;
  for (const auto& record : *records) {
    assert(record.line > previous_line);
    assert(!record.fields.empty() && record.fields.size() <= limits.fields_per_record_max);
    for ([[maybe_unused]] const auto& field : record.fields) {
      assert(field.size() <= limits.field_bytes_max);
    }
    previous_line = record.line;
  }
  return 0;
}
