// inventory/csv: a strict RFC 4180 reader for the files profile vendors deliver.
//
// Fields are separated by ',' and records by CRLF or LF. A field may be quoted with '"'; inside
// quotes, '""' is a quote and commas and line breaks are data. A quote inside an unquoted field,
// or anything but a separator after a closing quote, is an error. A UTF-8 byte order mark at the
// start is skipped, and so are blank lines (vendors' files often end with several).
// Every record carries the line number it starts on, so errors can name it.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace station::inventory {

struct CsvRecord {
  std::size_t line = 0;  // 1-based line the record starts on
  std::vector<std::string> fields;
};

struct CsvLimits {
  std::size_t records_max;
  std::size_t fields_per_record_max;
  std::size_t field_bytes_max;
};

// kValidationFailed naming the line on malformed input or a bound exceeded.
Result<std::vector<CsvRecord>> parse_csv(std::string_view text, const CsvLimits& limits);

// Where each known column sits in a header row: names are matched case-insensitively after
// trimming spaces; the first `required` names must be present. Unknown, repeated and missing
// columns are each reported to `problem` with the header's line; positions are filled for the
// rest. Returns true when nothing was reported.
bool map_csv_header(const CsvRecord& header, std::span<const std::string_view> names,
                    std::size_t required, std::span<std::optional<std::size_t>> positions,
                    const std::function<void(std::size_t line, std::string reason)>& problem);

}  // namespace station::inventory
