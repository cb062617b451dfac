#include "inventory/inventory.h"

#include <algorithm>
#include <cassert>
#include <map>
#include <utility>

#include <fmt/format.h>

#include "common/digits.h"
#include "common/limits.h"
#include "inventory/csv.h"

namespace station::inventory {
namespace {

using storage::Row;
using storage::Rows;
using storage::Value;
using enum ProfileState;

constexpr std::array<std::string_view, kProfileStateCount> kStateNames = {
    "available", "allocated", "linked",    "confirmed",  "released",
    "downloaded", "installed", "error",    "unavailable",
};

// The state machine, written once. SGP.22's SM-DP+ view: a profile is reserved for an order
// (allocated), bound to a matching id / EID (linked), confirmed by the operator (confirmed),
// released for download (released), downloaded and installed by the device. Before download an
// order may be cancelled, which returns the profile to the pool.
constexpr std::array<std::pair<ProfileState, ProfileState>, 18> kAllowedTransitions = {{
    {kAvailable, kAllocated},
    {kAllocated, kLinked},
    {kAllocated, kConfirmed},  // ES2+ ConfirmOrder without an EID
    {kLinked, kConfirmed},
    {kConfirmed, kReleased},
    {kReleased, kDownloaded},
    {kDownloaded, kInstalled},
    // Cancelled before download.
    {kAllocated, kAvailable},
    {kLinked, kAvailable},
    {kConfirmed, kAvailable},
    {kReleased, kAvailable},
    // The download failed; the operator decides whether the profile can be used again.
    {kReleased, kError},
    {kDownloaded, kError},
    {kError, kAvailable},
    {kError, kUnavailable},
    // Taken out of (or put back into) the pool by the operator.
    {kAvailable, kUnavailable},
    {kUnavailable, kAvailable},
    // An installed profile that the device reports as deleted is not reusable.
    {kInstalled, kUnavailable},
}};

constexpr std::array<std::string_view, kProfileCodeCount> kCodeNames = {"pin1", "puk1", "pin2",
                                                                        "puk2", "adm1"};

// The profile codes' columns follow kProfileType, in ProfileCode order.
enum class Column { kIccid, kImsi, kKi, kOpc, kProfileType };
constexpr std::size_t kFirstCodeColumn = 5;
constexpr std::array<std::string_view, kFirstCodeColumn + kProfileCodeCount> kColumnNames = {
    "iccid", "imsi", "ki", "opc", "profile_type", "pin1", "puk1", "pin2", "puk2", "adm1"};
constexpr std::size_t kRequiredColumns = 4;  // the first four above

constexpr std::array<ProfileCode, kProfileCodeCount> kAllCodes = {
    ProfileCode::kPin1, ProfileCode::kPuk1, ProfileCode::kPin2, ProfileCode::kPuk2,
    ProfileCode::kAdm1};

bool all_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

bool is_profile_type(std::string_view text) {
  return text.size() <= limits::kProfileTypeBytesMax &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
}

// "pin1_sealed, puk1_sealed, ...", in ProfileCode order.
std::string sealed_code_columns() {
  std::string out;
  for (std::string_view name : kCodeNames) {
    out += fmt::format("{}{}_sealed", out.empty() ? "" : ", ", name);
  }
  return out;
}

std::string insert_profile_sql() {
  std::string code_placeholders;
  for (std::size_t i = 0; i < kProfileCodeCount; ++i) code_placeholders += ", ?";
  return fmt::format(
      "INSERT INTO profiles (iccid, imsi, ki_sealed, opc_sealed, profile_type, state, version, "
      "created_at_ms, updated_at_ms, {}) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?{})",
      sealed_code_columns(), code_placeholders);
}

// "PIN1", "PUK2", ... as the problems name them.
std::string upper_name(ProfileCode code) {
  std::string out(kCodeNames[static_cast<std::size_t>(code)]);
  for (char& c : out) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return out;
}

std::string seal_context(std::string_view iccid, std::string_view field) {
  return fmt::format("profile:{}:{}", iccid, field);
}

Status check_cause(std::string_view cause) {
  if (cause.empty() || cause.size() > limits::kProfileEventCauseBytesMax) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("a transition's cause is 1 to {} bytes",
                              limits::kProfileEventCauseBytesMax));
  }
  return Status::ok();
}

Result<ProfileState> state_from_row(const Row& row, std::size_t column) {
  auto state = parse_profile_state(row.text_at(column));
  if (!state) {
    return Status(ErrorCode::kInternal,
                  fmt::format("profile row has an unknown state '{}'", row.text_at(column)));
  }
  return *state;
}

constexpr std::string_view kProfileColumns =
    "iccid, imsi, profile_type, state, created_at_ms, updated_at_ms, version";

Result<Profile> profile_from_row(const Row& row) {
  Profile p;
  p.iccid = row.text_at(0);
  p.imsi = row.text_at(1);
  p.profile_type = row.text_at(2);
  STATION_ASSIGN_OR_RETURN(p.state, state_from_row(row, 3));
  p.created_at_ms = row.int_at(4);
  p.updated_at_ms = row.int_at(5);
  return p;
}

Status insert_event(storage::Connection& connection, std::string_view iccid, std::int64_t version,
                    std::optional<ProfileState> from, ProfileState to, std::string_view cause,
                    std::int64_t at_ms) {
  const Value params[] = {std::string(iccid),
                          version,
                          from ? Value(std::string(profile_state_name(*from))) : Value(nullptr),
                          std::string(profile_state_name(to)),
                          std::string(cause),
                          at_ms};
  return connection.execute(
      "INSERT INTO profile_events (iccid, version, from_state, to_state, cause, at_ms) "
      "VALUES (?, ?, ?, ?, ?, ?)",
      params);
}

// One checked data row of an import.
struct ImportRow {
  std::size_t line = 0;
  std::string iccid;
  std::string imsi;
  std::string ki;   // upper case; wiped by the importer
  std::string opc;  // upper case; wiped by the importer
  std::array<std::optional<std::string>, kProfileCodeCount> codes;  // wiped by the importer
  std::string profile_type;
};

class Importer {
 public:
  explicit Importer(ImportOutcome& outcome) : outcome_(outcome) {}

  // Maps header names to columns; false (with problems) when the header is not usable.
  bool read_header(const CsvRecord& header) {
    width_ = header.fields.size();
    return map_csv_header(header, kColumnNames, kRequiredColumns, positions_,
                          [this](std::size_t line, std::string reason) {
                            problem(line, std::move(reason));
                          });
  }

  // Checks one data row; returns it when it is good.
  std::optional<ImportRow> read_row(const CsvRecord& record) {
    if (record.fields.size() != width_) {
      problem(record.line, fmt::format("{} fields where the header has {}", record.fields.size(),
                                       width_));
      return std::nullopt;
    }
    const std::size_t problems_before = problem_count_;
    ImportRow row;
    row.line = record.line;
    row.iccid = field(record, Column::kIccid);
    row.imsi = field(record, Column::kImsi);
    if (row.iccid.size() < 18 || row.iccid.size() > 20 || !all_digits(row.iccid)) {
      problem(record.line, "ICCID must be 18 to 20 digits");
    } else if (!is_valid_iccid(row.iccid)) {
      problem(record.line, "ICCID check digit (Luhn) is wrong");
    } else if (auto [it, inserted] = first_line_of_iccid_.emplace(row.iccid, record.line);
               !inserted) {
      problem(record.line, fmt::format("duplicate ICCID {} (first on line {})", row.iccid,
                                       it->second));
    }
    if (row.imsi.size() != 15 || !all_digits(row.imsi)) {
      problem(record.line, "IMSI must be 15 digits");
    }
    // Never echo a Ki or OPc in a problem: the file's other rows may be good secrets.
    std::string_view ki = field(record, Column::kKi);
    std::string_view opc = field(record, Column::kOpc);
    if (ki.size() != 32 || !all_hex(ki)) problem(record.line, "Ki must be 32 hex digits");
    if (opc.size() != 32 || !all_hex(opc)) problem(record.line, "OPc must be 32 hex digits");
    for (ProfileCode code : kAllCodes) {
      auto position = positions_[kFirstCodeColumn + static_cast<std::size_t>(code)];
      if (!position || record.fields[*position].empty()) continue;
      const std::string& value = record.fields[*position];
      if (auto reason = profile_code_problem(code, value)) {
        problem(record.line, std::move(*reason));
      } else {
        // Stored upper case (ADM1 hex), changed in place: no other copy of the code.
        std::string& stored = row.codes[static_cast<std::size_t>(code)].emplace(value);
        for (char& c : stored) c = c >= 'a' && c <= 'f' ? static_cast<char>(c - 'a' + 'A') : c;
      }
    }
    if (positions_[static_cast<std::size_t>(Column::kProfileType)]) {
      row.profile_type = field(record, Column::kProfileType);
      if (!is_profile_type(row.profile_type)) {
        problem(record.line, fmt::format("profile_type must be at most {} printable characters "
                                         "without spaces",
                                         limits::kProfileTypeBytesMax));
      }
    }
    if (problem_count_ != problems_before) return std::nullopt;
    row.ki = upper(ki);
    row.opc = upper(opc);
    return row;
  }

  void problem(std::size_t line, std::string reason) {
    ++problem_count_;
    if (outcome_.problems.size() == limits::kProfileImportProblemsMax) {
      outcome_.problems_truncated = true;
      return;
    }
    outcome_.problems.push_back(ImportProblem{line, std::move(reason)});
  }

  std::size_t problem_count() const { return problem_count_; }

 private:
  const std::string& field(const CsvRecord& record, Column column) const {
    auto position = positions_[static_cast<std::size_t>(column)];
    assert(position);
    return record.fields[*position];
  }

  ImportOutcome& outcome_;
  std::array<std::optional<std::size_t>, kColumnNames.size()> positions_{};
  std::size_t width_ = 0;
  std::size_t problem_count_ = 0;
  std::map<std::string, std::size_t> first_line_of_iccid_;
};

// Wipes the plaintext secrets of checked rows however the import ends.
struct WipeRows {
  std::vector<ImportRow>& rows;
  ~WipeRows() {
    for (auto& row : rows) {
      secrets::wipe(row.ki);
      secrets::wipe(row.opc);
      for (auto& code : row.codes) {
        if (code) secrets::wipe(*code);
      }
    }
  }
};

struct WipeRecords {
  std::vector<CsvRecord>& records;
  ~WipeRecords() {
    for (auto& record : records) {
      for (auto& field : record.fields) secrets::wipe(field);
    }
  }
};

}  // namespace

std::string_view profile_code_name(ProfileCode code) {
  return kCodeNames[static_cast<std::size_t>(code)];
}

std::optional<std::string> profile_code_problem(ProfileCode code, std::string_view value) {
  switch (code) {
    case ProfileCode::kPin1:
    case ProfileCode::kPin2:
      if (value.size() >= 4 && value.size() <= 8 && all_digits(value)) return std::nullopt;
      return fmt::format("{} must be 4 to 8 digits (or empty)", upper_name(code));
    case ProfileCode::kPuk1:
    case ProfileCode::kPuk2:
      if (value.size() == 8 && all_digits(value)) return std::nullopt;
      return fmt::format("{} must be 8 digits (or empty)", upper_name(code));
    case ProfileCode::kAdm1:
      if ((value.size() == 8 && all_digits(value)) || (value.size() == 16 && all_hex(value))) {
        return std::nullopt;
      }
      return "ADM1 must be 8 digits or 16 hex digits (or empty)";
  }
  return "unknown profile code";
}

std::string_view profile_state_name(ProfileState state) {
  return kStateNames[static_cast<std::size_t>(state)];
}

std::optional<ProfileState> parse_profile_state(std::string_view name) {
  for (std::size_t i = 0; i < kStateNames.size(); ++i) {
    if (kStateNames[i] == name) return static_cast<ProfileState>(i);
  }
  return std::nullopt;
}

bool transition_allowed(ProfileState from, ProfileState to) {
  return std::find(kAllowedTransitions.begin(), kAllowedTransitions.end(),
                   std::pair{from, to}) != kAllowedTransitions.end();
}

bool is_valid_iccid(std::string_view iccid) {
  return iccid.size() >= 18 && iccid.size() <= 20 && all_digits(iccid) && luhn_valid(iccid);
}

Inventory::Inventory(storage::Database& database, const secrets::Keyring& keyring,
                     const Clock& clock)
    : database_(database), keyring_(keyring), clock_(clock) {}

Result<ImportOutcome> Inventory::import_csv(std::string_view csv_text, std::string_view cause) {
  STATION_RETURN_IF_ERROR(check_cause(cause));
  if (csv_text.size() > limits::kProfileImportBytesMax) {
    return Status(ErrorCode::kPayloadTooLarge,
                  fmt::format("a profile file is at most {} bytes; split it",
                              limits::kProfileImportBytesMax));
  }
  if (keyring_.empty()) {
    return Status(ErrorCode::kInternal, "no secrets key to seal the profiles with");
  }
  ImportOutcome outcome;
  auto parsed = parse_csv(csv_text, CsvLimits{limits::kProfileImportRowsMax + 1,
                                              limits::kProfileImportColumnsMax,
                                              limits::kProfileImportFieldBytesMax});
  if (!parsed.is_ok()) {
    outcome.problems.push_back(ImportProblem{0, parsed.status().message()});
    return outcome;
  }
  std::vector<CsvRecord> records = std::move(parsed).value();
  WipeRecords wipe_records{records};  // the fields hold the plaintext secrets
  if (records.empty()) {
    outcome.problems.push_back(ImportProblem{0, "the file is empty (expected a header row)"});
    return outcome;
  }
  Importer importer(outcome);
  if (!importer.read_header(records.front())) return outcome;
  if (records.size() == 1) {
    outcome.problems.push_back(ImportProblem{0, "the file has a header but no profiles"});
    return outcome;
  }

  std::vector<ImportRow> rows;
  WipeRows wipe_rows{rows};
  rows.reserve(records.size() - 1);
  for (std::size_t i = 1; i < records.size(); ++i) {
    auto row = importer.read_row(records[i]);
    if (row) rows.push_back(std::move(*row));
  }

  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  // ICCIDs already in the store, looked up in batches.
  for (std::size_t start = 0; start < rows.size(); start += limits::kProfileImportLookupBatch) {
    std::size_t end = std::min(rows.size(), start + limits::kProfileImportLookupBatch);
    std::vector<Value> params;
    std::string placeholders;
    std::map<std::string, std::size_t> line_of;
    for (std::size_t i = start; i < end; ++i) {
      params.emplace_back(rows[i].iccid);
      placeholders += placeholders.empty() ? "?" : ", ?";
      line_of.emplace(rows[i].iccid, rows[i].line);
    }
    STATION_ASSIGN_OR_RETURN(
        Rows existing,
        connection->query(
            fmt::format("SELECT iccid FROM profiles WHERE iccid IN ({})", placeholders), params));
    for (const Row& row : existing) {
      importer.problem(line_of.at(row.text_at(0)),
                       fmt::format("ICCID {} is already in the inventory", row.text_at(0)));
    }
  }
  if (importer.problem_count() > 0) {
    std::stable_sort(outcome.problems.begin(), outcome.problems.end(),
                     [](const ImportProblem& a, const ImportProblem& b) { return a.line < b.line; });
    return outcome;
  }

  // After this point every row is good: write them all or none.
  const std::int64_t now_ms = clock_.now_unix_ms();
  STATION_ASSIGN_OR_RETURN(auto transaction, storage::Transaction::begin(*connection));
  for (const ImportRow& row : rows) {
    std::vector<Value> params = {row.iccid,
                                 row.imsi,
                                 keyring_.seal(row.ki, seal_context(row.iccid, "ki")),
                                 keyring_.seal(row.opc, seal_context(row.iccid, "opc")),
                                 row.profile_type,
                                 std::string(profile_state_name(kAvailable)),
                                 now_ms,
                                 now_ms};
    for (ProfileCode code : kAllCodes) {
      const auto& value = row.codes[static_cast<std::size_t>(code)];
      params.push_back(value ? Value(keyring_.seal(*value, seal_context(row.iccid,
                                                                        profile_code_name(code))))
                             : Value(nullptr));
    }
    static const std::string sql = insert_profile_sql();
    STATION_RETURN_IF_ERROR(connection->execute(sql, params));
    STATION_RETURN_IF_ERROR(
        insert_event(*connection, row.iccid, 0, std::nullopt, kAvailable, cause, now_ms));
  }
  Status committed = transaction.commit();
  if (!committed.is_ok()) {
    // Most likely another import of the same ICCIDs won the race since the check above.
    return Status(committed.code(), "the import was not written (nothing was imported): " +
                                        committed.message());
  }
  outcome.imported = rows.size();
  return outcome;
}

Result<Profile> Inventory::allocate_one(std::optional<std::string_view> profile_type,
                                        std::string_view cause) {
  STATION_RETURN_IF_ERROR(check_cause(cause));
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  std::vector<Value> pick_params = {std::string(profile_state_name(kAvailable))};
  if (profile_type) pick_params.emplace_back(std::string(*profile_type));
  const std::string pick_sql = fmt::format(
      "SELECT {} FROM profiles WHERE state = ?{} ORDER BY iccid LIMIT 1", kProfileColumns,
      profile_type ? " AND profile_type = ?" : "");

  for (std::uint32_t attempt = 0; attempt < limits::kProfileAllocateAttemptsMax; ++attempt) {
    STATION_ASSIGN_OR_RETURN(auto transaction, storage::Transaction::begin(*connection));
    STATION_ASSIGN_OR_RETURN(Rows picked, connection->query(pick_sql, pick_params));
    if (picked.empty()) {
      return Status(ErrorCode::kNotFound,
                    profile_type ? fmt::format("no available profile of type '{}'", *profile_type)
                                 : std::string("no available profile"));
    }
    STATION_ASSIGN_OR_RETURN(Profile profile, profile_from_row(picked[0]));
    const std::int64_t version = picked[0].int_at(6);
    const std::int64_t now_ms = clock_.now_unix_ms();
    // Compare-and-set: another writer may have taken this profile since the SELECT (PostgreSQL
    // at READ COMMITTED re-checks the WHERE after waiting for its row lock).
    const Value update[] = {std::string(profile_state_name(kAllocated)), now_ms, profile.iccid,
                            version};
    STATION_RETURN_IF_ERROR(connection->execute(
        "UPDATE profiles SET state = ?, version = version + 1, updated_at_ms = ? "
        "WHERE iccid = ? AND version = ?",
        update));
    if (connection->changes() == 0) continue;  // lost the race; the transaction rolls back
    STATION_RETURN_IF_ERROR(insert_event(*connection, profile.iccid, version + 1, kAvailable,
                                         kAllocated, cause, now_ms));
    STATION_RETURN_IF_ERROR(transaction.commit());
    profile.state = kAllocated;
    profile.updated_at_ms = now_ms;
    return profile;
  }
  return Status(ErrorCode::kUnavailable, "profile allocation is contended; retry");
}

Status Inventory::transition(std::string_view iccid, ProfileState to, std::string_view cause) {
  STATION_ASSIGN_OR_RETURN(Profile profile, get(iccid));
  return transition(iccid, profile.state, to, cause);
}

Status Inventory::transition(std::string_view iccid, ProfileState expected, ProfileState to,
                             std::string_view cause) {
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  STATION_ASSIGN_OR_RETURN(auto transaction, storage::Transaction::begin(*connection));
  STATION_RETURN_IF_ERROR(transition(*connection, iccid, expected, to, cause));
  return transaction.commit();
}

Status Inventory::transition(storage::Connection& connection, std::string_view iccid,
                             ProfileState expected, ProfileState to, std::string_view cause) {
  STATION_RETURN_IF_ERROR(check_cause(cause));
  if (!transition_allowed(expected, to)) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("a profile cannot go from {} to {}", profile_state_name(expected),
                              profile_state_name(to)));
  }
  const Value key[] = {std::string(iccid)};
  STATION_ASSIGN_OR_RETURN(
      Rows rows, connection.query("SELECT state, version FROM profiles WHERE iccid = ?", key));
  if (rows.empty()) return Status(ErrorCode::kNotFound, "no such profile");
  STATION_ASSIGN_OR_RETURN(ProfileState current, state_from_row(rows[0], 0));
  if (current != expected) {
    return Status(ErrorCode::kConflict,
                  fmt::format("the profile is {}, not {}", profile_state_name(current),
                              profile_state_name(expected)));
  }
  const std::int64_t version = rows[0].int_at(1);
  const std::int64_t now_ms = clock_.now_unix_ms();
  const Value update[] = {std::string(profile_state_name(to)), now_ms, std::string(iccid),
                          std::string(profile_state_name(expected)), version};
  STATION_RETURN_IF_ERROR(connection.execute(
      "UPDATE profiles SET state = ?, version = version + 1, updated_at_ms = ? "
      "WHERE iccid = ? AND state = ? AND version = ?",
      update));
  if (connection.changes() == 0) {
    return Status(ErrorCode::kConflict, "the profile was changed by another writer; re-read it");
  }
  return insert_event(connection, iccid, version + 1, expected, to, cause, now_ms);
}

Result<Profile> Inventory::get(std::string_view iccid) {
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  return get(*connection, iccid);
}

Result<Profile> Inventory::get(storage::Connection& connection, std::string_view iccid) {
  const Value key[] = {std::string(iccid)};
  static const std::string sql =
      fmt::format("SELECT {} FROM profiles WHERE iccid = ?", kProfileColumns);
  STATION_ASSIGN_OR_RETURN(Rows rows, connection.query(sql, key));
  if (rows.empty()) return Status(ErrorCode::kNotFound, "no such profile");
  return profile_from_row(rows[0]);
}

Result<std::vector<ProfileEvent>> Inventory::events(std::string_view iccid) {
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  const Value params[] = {std::string(iccid),
                          static_cast<std::int64_t>(limits::kProfileEventsListedMax)};
  STATION_ASSIGN_OR_RETURN(
      Rows rows, connection->query("SELECT from_state, to_state, cause, at_ms FROM profile_events "
                                   "WHERE iccid = ? ORDER BY version LIMIT ?",
                                   params));
  std::vector<ProfileEvent> out;
  out.reserve(rows.size());
  for (const Row& row : rows) {
    ProfileEvent event;
    if (!row.is_null(0)) {
      STATION_ASSIGN_OR_RETURN(event.from_state, state_from_row(row, 0));
    }
    STATION_ASSIGN_OR_RETURN(event.to_state, state_from_row(row, 1));
    event.cause = row.text_at(2);
    event.at_ms = row.int_at(3);
    out.push_back(std::move(event));
  }
  return out;
}

Result<StateCounts> Inventory::stats() {
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  STATION_ASSIGN_OR_RETURN(Rows rows,
                           connection->query("SELECT state, COUNT(*) FROM profiles GROUP BY state"));
  StateCounts counts{};
  for (const Row& row : rows) {
    STATION_ASSIGN_OR_RETURN(ProfileState state, state_from_row(row, 0));
    counts[static_cast<std::size_t>(state)] = row.int_at(1);
  }
  return counts;
}

Result<ProfileSecrets> Inventory::read_secrets(std::string_view iccid) {
  STATION_ASSIGN_OR_RETURN(auto connection, database_.acquire());
  return read_secrets(*connection, iccid);
}

Result<ProfileSecrets> Inventory::read_secrets(storage::Connection& connection,
                                               std::string_view iccid) {
  const Value key[] = {std::string(iccid)};
  static const std::string sql = fmt::format(
      "SELECT ki_sealed, opc_sealed, {} FROM profiles WHERE iccid = ?", sealed_code_columns());
  STATION_ASSIGN_OR_RETURN(Rows rows, connection.query(sql, key));
  if (rows.empty()) return Status(ErrorCode::kNotFound, "no such profile");
  const Row& row = rows[0];
  ProfileSecrets out;
  STATION_ASSIGN_OR_RETURN(out.ki, keyring_.open(row.text_at(0), seal_context(iccid, "ki")));
  STATION_ASSIGN_OR_RETURN(out.opc, keyring_.open(row.text_at(1), seal_context(iccid, "opc")));
  for (ProfileCode code : kAllCodes) {
    const std::size_t column = 2 + static_cast<std::size_t>(code);
    if (row.is_null(column)) continue;
    STATION_ASSIGN_OR_RETURN(
        out.codes[static_cast<std::size_t>(code)],
        keyring_.open(row.text_at(column), seal_context(iccid, profile_code_name(code))));
  }
  return out;
}

}  // namespace station::inventory
