#include "devices/catalogue.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <utility>

#include "devices/identifiers.h"
#include "inventory/csv.h"

namespace station::devices {
namespace {

using storage::Row;
using storage::Rows;
using storage::Value;

constexpr std::array<std::string_view, 4> kKindNames = {"phone", "watch", "tablet", "laptop"};

enum class Column { kBrand, kModel, kKind, kEsimCapable, kTacs };
constexpr std::array<std::string_view, 5> kColumnNames = {"brand", "model", "kind", "esim_capable",
                                                          "tacs"};
constexpr std::size_t kRequiredColumns = 4;  // the first four above

constexpr std::string_view kAdvice =
    "to find out, dial *#06# on the device: if it shows an EID (32 digits), it takes an eSIM; "
    "or look in its settings for 'Add eSIM'";

constexpr std::string_view kDeviceColumns = "d.brand, d.model, d.kind, d.esim_capable";

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Well-formed UTF-8 without control characters (both engines must store it as text).
bool is_clean_text(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      if (byte < 0x20 || byte == 0x7f) return false;
      ++i;
      continue;
    }
    std::size_t length = 0;
    std::uint32_t code_point = 0;
    if ((byte & 0xe0) == 0xc0) {
      length = 2;
      code_point = byte & 0x1f;
    } else if ((byte & 0xf0) == 0xe0) {
      length = 3;
      code_point = byte & 0x0f;
    } else if ((byte & 0xf8) == 0xf0) {
      length = 4;
      code_point = byte & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code_point = (code_point << 6) | (next & 0x3f);
    }
    constexpr std::uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code_point < kSmallest[length] || code_point > 0x10ffff ||
        (code_point >= 0xd800 && code_point <= 0xdfff)) {
      return false;
    }
    i += length;
  }
  return true;
}

bool is_tac(std::string_view text) {
  return text.size() == kTacDigits &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<bool> parse_flag(std::string_view text) {
  std::string key = lower(text);
  if (key == "true" || key == "yes" || key == "1") return true;
  if (key == "false" || key == "no" || key == "0") return false;
  return std::nullopt;
}

Result<Device> device_from_row(const Row& row) {
  Device device;
  device.brand = row.text_at(0);
  device.model = row.text_at(1);
  auto kind = parse_device_kind(row.text_at(2));
  if (!kind) {
    return Status(ErrorCode::kInternal,
                  fmt::format("device row has an unknown kind '{}'", row.text_at(2)));
  }
  device.kind = *kind;
  device.esim_capable = row.int_at(3) != 0;
  return device;
}

// "the Apple iPhone 15 takes an eSIM", or after a TAC "..., which takes an eSIM".
std::string answer_for(const Device& device, std::string_view joiner = " ") {
  return fmt::format("the {} {}{}{}", device.brand, device.model, joiner,
                     device.esim_capable ? "takes an eSIM" : "takes no eSIM (physical SIM only)");
}

// One checked data row of an import.
struct ImportRow {
  std::size_t line = 0;
  Device device;
  std::string brand_key;
  std::string model_key;
  std::optional<std::vector<std::string>> tacs;  // nullopt: the file has no tacs column
};

class Importer {
 public:
  explicit Importer(ImportOutcome& outcome) : outcome_(outcome) {}

  bool read_header(const inventory::CsvRecord& header) {
    width_ = header.fields.size();
    return inventory::map_csv_header(header, kColumnNames, kRequiredColumns, positions_,
                                     [this](std::size_t line, std::string reason) {
                                       problem(line, std::move(reason));
                                     });
  }

  std::optional<ImportRow> read_row(const inventory::CsvRecord& record) {
    if (record.fields.size() != width_) {
      problem(record.line,
              fmt::format("{} fields where the header has {}", record.fields.size(), width_));
      return std::nullopt;
    }
    const std::size_t problems_before = problem_count_;
    ImportRow row;
    row.line = record.line;
    row.device.brand = std::string(field(record, Column::kBrand));
    row.device.model = std::string(field(record, Column::kModel));
    check_name(record.line, "brand", row.device.brand);
    check_name(record.line, "model", row.device.model);
    row.brand_key = model_key(row.device.brand);
    row.model_key = model_key(row.device.model);
    if (problem_count_ == problems_before) {
      auto [it, inserted] =
          first_line_of_model_.emplace(row.brand_key + '\n' + row.model_key, record.line);
      if (!inserted) {
        problem(record.line, fmt::format("{} {} appears twice (first on line {})", row.device.brand,
                                         row.device.model, it->second));
      }
    }
    std::string_view kind_text = field(record, Column::kKind);
    if (auto kind = parse_device_kind(lower(kind_text))) {
      row.device.kind = *kind;
    } else {
      problem(record.line, fmt::format("kind must be one of {}", fmt::join(kKindNames, ", ")));
    }
    if (auto flag = parse_flag(field(record, Column::kEsimCapable))) {
      row.device.esim_capable = *flag;
    } else {
      problem(record.line, "esim_capable must be true or false");
    }
    if (positions_[static_cast<std::size_t>(Column::kTacs)]) {
      row.tacs = read_tacs(record.line, field(record, Column::kTacs));
    }
    if (problem_count_ != problems_before) return std::nullopt;
    return row;
  }

  void problem(std::size_t line, std::string reason) {
    ++problem_count_;
    if (outcome_.problems.size() == kImportProblemsMax) {
      outcome_.problems_truncated = true;
      return;
    }
    outcome_.problems.push_back(ImportProblem{line, std::move(reason)});
  }

  std::size_t problem_count() const { return problem_count_; }

 private:
  std::string_view field(const inventory::CsvRecord& record, Column column) const {
    auto position = positions_[static_cast<std::size_t>(column)];
    return trim(record.fields[*position]);
  }

  void check_name(std::size_t line, std::string_view what, std::string_view text) {
    if (text.empty() || text.size() > kNameBytesMax) {
      problem(line, fmt::format("{} must be 1 to {} bytes", what, kNameBytesMax));
    } else if (!is_clean_text(text)) {
      problem(line, fmt::format("{} must be UTF-8 text without control characters", what));
    }
  }

  std::vector<std::string> read_tacs(std::size_t line, std::string_view text) {
    std::vector<std::string> tacs;
    std::size_t start = 0;
    while (start < text.size()) {
      std::size_t end = text.find_first_of(" ;\t", start);
      if (end == std::string_view::npos) end = text.size();
      std::string_view tac = text.substr(start, end - start);
      start = end + 1;
      if (tac.empty()) continue;
      if (!is_tac(tac)) {
        problem(line, fmt::format("a TAC is {} digits: '{}' is not", kTacDigits,
                                  tac.substr(0, 2 * kTacDigits)));
        continue;
      }
      auto [it, inserted] = first_line_of_tac_.emplace(std::string(tac), line);
      if (!inserted) {
        problem(line, fmt::format("TAC {} appears twice (first on line {})", tac, it->second));
        continue;
      }
      if (tacs.size() == kTacsPerDeviceMax) {
        problem(line, fmt::format("more than {} TACs for one model", kTacsPerDeviceMax));
        break;
      }
      tacs.emplace_back(tac);
    }
    return tacs;
  }

  ImportOutcome& outcome_;
  std::array<std::optional<std::size_t>, kColumnNames.size()> positions_{};
  std::size_t width_ = 0;
  std::size_t problem_count_ = 0;
  std::map<std::string, std::size_t> first_line_of_model_;
  std::map<std::string, std::size_t> first_line_of_tac_;
};

}  // namespace

std::string_view device_kind_name(DeviceKind kind) {
  return kKindNames[static_cast<std::size_t>(kind)];
}

std::optional<DeviceKind> parse_device_kind(std::string_view name) {
  for (std::size_t i = 0; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name) return static_cast<DeviceKind>(i);
  }
  return std::nullopt;
}

std::string model_key(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool space = false;
  for (char c : text) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

DeviceCatalogue::DeviceCatalogue(storage::Database& database) : database_(database) {}

Result<DeviceCheck> DeviceCatalogue::check_eid(std::string_view eid) {
  STATION_RETURN_IF_ERROR(devices::check_eid(eid));
  return DeviceCheck{true, std::nullopt,
                     "a valid EID identifies an eUICC (an embedded SIM), so this device takes an "
                     "eSIM"};
}

Result<DeviceCheck> DeviceCatalogue::check_imei(std::string_view imei) {
  STATION_RETURN_IF_ERROR(devices::check_imei(imei));
  const std::string_view tac = imei_tac(imei);
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  const Value key[] = {std::string(tac)};
  STATION_ASSIGN_OR_RETURN(
      Rows rows, connection->query(fmt::format("SELECT {} FROM device_tacs t JOIN devices d ON "
                                               "d.id = t.device_id WHERE t.tac = ?",
                                               kDeviceColumns),
                                   key));
  if (rows.empty()) {
    return DeviceCheck{
        std::nullopt, std::nullopt,
        fmt::format("the IMEI's TAC {} is not in the device catalogue; {}", tac, kAdvice)};
  }
  STATION_ASSIGN_OR_RETURN(Device device, device_from_row(rows[0]));
  std::string reason = fmt::format("the IMEI's TAC {} is {}", tac, answer_for(device, ", which "));
  bool esim = device.esim_capable;
  return DeviceCheck{esim, std::move(device), std::move(reason)};
}

Result<DeviceCheck> DeviceCatalogue::check_model(std::string_view model) {
  const std::string key = model_key(model);
  if (key.empty() || model.size() > kModelQueryBytesMax) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("model must be 1 to {} bytes, not only spaces", kModelQueryBytesMax));
  }
  if (!is_clean_text(model)) {
    return Status(ErrorCode::kValidationFailed,
                  "model must be UTF-8 text without control characters");
  }
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  // The model alone ("iphone 15"), or brand and model ("apple iphone 15").
  const Value params[] = {key, key};
  STATION_ASSIGN_OR_RETURN(
      Rows rows,
      connection->query(fmt::format("SELECT {} FROM devices d WHERE d.model_key = ? OR "
                                    "d.brand_key || ' ' || d.model_key = ? ORDER BY d.id LIMIT 10",
                                    kDeviceColumns),
                        params));
  if (rows.empty()) {
    return DeviceCheck{std::nullopt, std::nullopt,
                       fmt::format("'{}' is not in the device catalogue; {}", model, kAdvice)};
  }
  if (rows.size() == 1) {
    STATION_ASSIGN_OR_RETURN(Device device, device_from_row(rows[0]));
    std::string reason = answer_for(device);
    // A TAC names a variant; a model name does not, and variants for some markets lack the eSIM.
    if (device.esim_capable) {
      reason += fmt::format(" (regional variants can differ; {})", kAdvice);
    }
    bool esim = device.esim_capable;
    return DeviceCheck{esim, std::move(device), std::move(reason)};
  }
  // Several brands use the name: an answer only when they all agree.
  std::vector<std::string> names;
  std::optional<bool> agreed;
  bool disagree = false;
  for (const Row& row : rows) {
    STATION_ASSIGN_OR_RETURN(Device device, device_from_row(row));
    names.push_back(fmt::format("{} {}", device.brand, device.model));
    if (agreed && *agreed != device.esim_capable) disagree = true;
    agreed = device.esim_capable;
  }
  if (disagree) {
    return DeviceCheck{std::nullopt, std::nullopt,
                       fmt::format("'{}' names several devices ({}) that differ; give the brand "
                                   "too, or {}",
                                   model, fmt::join(names, ", "), kAdvice)};
  }
  return DeviceCheck{
      agreed, std::nullopt,
      fmt::format("'{}' names several devices ({}), all of which {}", model, fmt::join(names, ", "),
                  *agreed ? "take an eSIM" : "take no eSIM")};
}

Result<std::int64_t> DeviceCatalogue::count() {
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  STATION_ASSIGN_OR_RETURN(Rows rows, connection->query("SELECT COUNT(*) FROM devices"));
  return rows.at(0).int_at(0);
}

Status DeviceCatalogue::seed_if_empty() {
  STATION_ASSIGN_OR_RETURN(std::int64_t devices, count());
  if (devices > 0) return Status::ok();
  STATION_ASSIGN_OR_RETURN(ImportOutcome outcome, import_csv(embedded_catalogue()));
  if (!outcome.problems.empty()) {
    const ImportProblem& first = outcome.problems.front();
    return Status(
        ErrorCode::kInternal,
        fmt::format("the embedded device catalogue is bad: line {}: {}", first.line, first.reason));
  }
  return Status::ok();
}

Result<ImportOutcome> DeviceCatalogue::import_csv(std::string_view text) {
  if (text.size() > kImportBytesMax) {
    return Status(ErrorCode::kPayloadTooLarge,
                  fmt::format("a device catalogue is at most {} bytes", kImportBytesMax));
  }
  ImportOutcome outcome;
  auto parsed = inventory::parse_csv(
      text,
      inventory::CsvLimits{kImportRowsMax + 1, kColumnNames.size() * 2, kImportFieldBytesMax});
  if (!parsed.is_ok()) {
    outcome.problems.push_back(ImportProblem{0, parsed.status().message()});
    return outcome;
  }
  const std::vector<inventory::CsvRecord>& records = *parsed;
  if (records.empty()) {
    outcome.problems.push_back(ImportProblem{0, "the file is empty (expected a header row)"});
    return outcome;
  }
  Importer importer(outcome);
  if (!importer.read_header(records.front())) return outcome;
  if (records.size() == 1) {
    outcome.problems.push_back(ImportProblem{0, "the file has a header but no devices"});
    return outcome;
  }
  std::vector<ImportRow> rows;
  rows.reserve(records.size() - 1);
  for (std::size_t i = 1; i < records.size(); ++i) {
    auto row = importer.read_row(records[i]);
    if (row) rows.push_back(std::move(*row));
  }
  if (importer.problem_count() > 0) {
    std::stable_sort(
        outcome.problems.begin(), outcome.problems.end(),
        [](const ImportProblem& a, const ImportProblem& b) { return a.line < b.line; });
    return outcome;
  }

  // Every row is good: write them all or none.
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  STATION_ASSIGN_OR_RETURN(auto transaction, storage::Transaction::begin(*connection));
  STATION_ASSIGN_OR_RETURN(Rows last,
                           connection->query("SELECT COALESCE(MAX(id), 0) FROM devices"));
  std::int64_t next_id = last.at(0).int_at(0) + 1;
  for (const ImportRow& row : rows) {
    const Value key[] = {row.brand_key, row.model_key};
    STATION_ASSIGN_OR_RETURN(
        Rows existing,
        connection->query("SELECT id FROM devices WHERE brand_key = ? AND model_key = ?", key));
    const std::string kind(device_kind_name(row.device.kind));
    const std::int64_t esim = row.device.esim_capable ? 1 : 0;
    std::int64_t id = 0;
    if (existing.empty()) {
      id = next_id++;
      const Value params[] = {
          id, row.device.brand, row.device.model, row.brand_key, row.model_key, kind, esim};
      STATION_RETURN_IF_ERROR(connection->execute(
          "INSERT INTO devices (id, brand, model, brand_key, model_key, kind, esim_capable) "
          "VALUES (?, ?, ?, ?, ?, ?, ?)",
          params));
      ++outcome.created;
    } else {
      id = existing[0].int_at(0);
      const Value params[] = {row.device.brand, row.device.model, kind, esim, id};
      STATION_RETURN_IF_ERROR(connection->execute(
          "UPDATE devices SET brand = ?, model = ?, kind = ?, esim_capable = ? WHERE id = ?",
          params));
      ++outcome.updated;
    }
    if (!row.tacs) continue;  // the file says nothing about TACs: keep what is known
    const Value device[] = {id};
    STATION_RETURN_IF_ERROR(
        connection->execute("DELETE FROM device_tacs WHERE device_id = ?", device));
    for (const std::string& tac : *row.tacs) {
      // A TAC names one model: the file's word moves it from any other model.
      const Value params[] = {tac, id};
      STATION_RETURN_IF_ERROR(
          connection->execute("INSERT INTO device_tacs (tac, device_id) VALUES (?, ?) "
                              "ON CONFLICT (tac) DO UPDATE SET device_id = excluded.device_id",
                              params));
    }
  }
  Status committed = transaction.commit();
  if (!committed.is_ok()) {
    outcome.created = outcome.updated = 0;
    return Status(committed.code(),
                  "the import was not written (nothing was imported): " + committed.message());
  }
  outcome.imported = rows.size();
  return outcome;
}

}  // namespace station::devices
