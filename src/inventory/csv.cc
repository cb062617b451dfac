#include "inventory/csv.h"

#include <cassert>

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "secrets/secrets.h"

namespace station::inventory {
namespace {

class CsvParser {
 public:
  CsvParser(std::string_view text, const CsvLimits& limits) : text_(text), limits_(limits) {}

  Result<std::vector<CsvRecord>> parse() {
    if (text_.starts_with("\xEF\xBB\xBF")) pos_ = 3;
    std::vector<CsvRecord> records;
    while (pos_ < text_.size()) {
      if (at_line_break()) {  // a blank line
        skip_line_break();
        continue;
      }
      if (records.size() == limits_.records_max) {
        return error(fmt::format("more than {} records", limits_.records_max));
      }
      CsvRecord record;
      record.line = line_;
      Status parsed = parse_record(record);
      records.push_back(std::move(record));
      if (!parsed.is_ok()) {
        // Vendor files carry secrets: wipe what was read before dropping it.
        for (auto& done : records) {
          for (auto& field : done.fields) secrets::wipe(field);
        }
        return parsed;
      }
    }
    return records;
  }

 private:
  Status parse_record(CsvRecord& record) {
    while (true) {
      if (record.fields.size() == limits_.fields_per_record_max) {
        return error(fmt::format("more than {} fields", limits_.fields_per_record_max));
      }
      std::string field;
      // A record may end in an empty field right after a separator, at the end of the text too.
      const bool quoted = pos_ < text_.size() && peek() == '"';
      STATION_RETURN_IF_ERROR(quoted ? parse_quoted(field) : parse_plain(field));
      record.fields.push_back(std::move(field));
      if (pos_ == text_.size()) return Status::ok();
      if (at_line_break()) {
        skip_line_break();
        return Status::ok();
      }
      assert(peek() == ',');
      ++pos_;
    }
  }

  Status parse_plain(std::string& field) {
    while (pos_ < text_.size() && peek() != ',' && !at_line_break()) {
      if (peek() == '"') return error("a quote inside an unquoted field");
      if (peek() == '\r') return error("a carriage return not followed by a line feed");
      STATION_RETURN_IF_ERROR(append(field, peek()));
      ++pos_;
    }
    return Status::ok();
  }

  Status parse_quoted(std::string& field) {
    const std::size_t opened_on = line_;
    ++pos_;  // the opening quote
    while (true) {
      if (pos_ == text_.size()) {
        return Status(ErrorCode::kValidationFailed,
                      fmt::format("line {}: a quoted field is not closed", opened_on));
      }
      char c = peek();
      ++pos_;
      if (c == '"') {
        if (pos_ < text_.size() && peek() == '"') {
          ++pos_;
          STATION_RETURN_IF_ERROR(append(field, '"'));
          continue;
        }
        if (pos_ < text_.size() && peek() != ',' && !at_line_break()) {
          return error("text after a closing quote");
        }
        return Status::ok();
      }
      if (c == '\n') ++line_;
      STATION_RETURN_IF_ERROR(append(field, c));
    }
  }

  Status append(std::string& field, char c) {
    if (field.size() == limits_.field_bytes_max) {
      return error(fmt::format("a field longer than {} bytes", limits_.field_bytes_max));
    }
    field.push_back(c);
    return Status::ok();
  }

  // REQUIRES: pos_ < text_.size()
  char peek() const {
    assert(pos_ < text_.size());
    return text_[pos_];
  }
  bool at_line_break() const {
    return peek() == '\n' || (peek() == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n');
  }
  void skip_line_break() {
    pos_ += peek() == '\r' ? 2 : 1;
    ++line_;
  }
  Status error(std::string_view what) const {
    return Status(ErrorCode::kValidationFailed, fmt::format("line {}: {}", line_, what));
  }

  std::string_view text_;
  const CsvLimits& limits_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
};

}  // namespace

Result<std::vector<CsvRecord>> parse_csv(std::string_view text, const CsvLimits& limits) {
  return CsvParser(text, limits).parse();
}

}  // namespace station::inventory

namespace station::inventory {

bool map_csv_header(const CsvRecord& header, std::span<const std::string_view> names,
                    std::size_t required, std::span<std::optional<std::size_t>> positions,
                    const std::function<void(std::size_t line, std::string reason)>& problem) {
  assert(required <= names.size() && positions.size() == names.size());
  bool clean = true;
  auto report = [&](std::string reason) {
    clean = false;
    problem(header.line, std::move(reason));
  };
  for (std::size_t i = 0; i < header.fields.size(); ++i) {
    std::string_view field = header.fields[i];
    while (!field.empty() && field.front() == ' ') field.remove_prefix(1);
    while (!field.empty() && field.back() == ' ') field.remove_suffix(1);
    std::string name(field);
    for (char& c : name) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    auto known = std::find(names.begin(), names.end(), name);
    if (known == names.end()) {
      report(fmt::format("unknown column '{}' (known: {})", header.fields[i],
                         fmt::join(names, ", ")));
      continue;
    }
    auto column = static_cast<std::size_t>(known - names.begin());
    if (positions[column]) {
      report(fmt::format("column '{}' appears twice", name));
      continue;
    }
    positions[column] = i;
  }
  for (std::size_t column = 0; column < required; ++column) {
    if (!positions[column]) {
      report(fmt::format("the header lacks the '{}' column (required: {})", names[column],
                         fmt::join(names.first(required), ",")));
    }
  }
  return clean;
}

}  // namespace station::inventory
