// devices: the device check — "does this phone take an eSIM?" — answered from an IMEI, an EID or
// a model name, against a catalogue of device models.
//
// The catalogue is one row per model (brand, model, kind, whether it takes an eSIM) and the TACs
// (the first 8 IMEI digits, which name a model) that are known for it. It ships with the binary:
// src/devices/devices.csv is embedded at build time and seeds an empty catalogue at start, so a server
// needs no repository at run time; operators update it with `station admin devices import FILE`
// (same format; rows are upserted by brand + model, all or nothing).
//
// The answers, and the one rule behind them: never a false "no".
//   - EID: a valid EID (32 digits, MOD 97-10 check digits) proves an eUICC -> true.
//   - IMEI: a valid IMEI whose TAC is in the catalogue -> that model's answer; else null.
//   - model: matched case-insensitively (with or without the brand) -> its answer; else null.
// A null comes with advice on how the subscriber can find out; false only for a model that the
// catalogue says takes no eSIM. Malformed IMEIs and EIDs are errors (kInvalidImei, kInvalidEid)
// that say which check failed.
//
// The shipped TACs are only those a public source attests: the old iPhones' TACs listed in the
// Wikipedia article "Type Allocation Code" (and its mirrors). Every other model ships without TACs
// (an IMEI check of it answers null with advice) until an operator imports TACs they can vouch for.
//
// CSV format (header row; column order free; tacs optional):
//   brand,model,kind,esim_capable,tacs
//   Apple,iPhone 15,phone,true,35xxxxxx;35yyyyyy
// kind is phone|watch|tablet|laptop; esim_capable is true|false (or yes|no, 1|0); TACs are
// 8 digits separated by spaces or semicolons.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "storage/database.h"

namespace station::devices {

inline constexpr std::size_t kImportBytesMax = 4 * 1024 * 1024;
inline constexpr std::size_t kImportRowsMax = 20'000;
inline constexpr std::size_t kImportFieldBytesMax = 16 * 1024;
inline constexpr std::size_t kImportProblemsMax = 1'000;
inline constexpr std::size_t kTacsPerDeviceMax = 500;
inline constexpr std::size_t kNameBytesMax = 100;  // a brand or a model
inline constexpr std::size_t kModelQueryBytesMax = 200;

enum class DeviceKind : std::uint8_t { kPhone, kWatch, kTablet, kLaptop };
std::string_view device_kind_name(DeviceKind kind);
std::optional<DeviceKind> parse_device_kind(std::string_view name);

struct Device {
  std::string brand;
  std::string model;
  DeviceKind kind = DeviceKind::kPhone;
  bool esim_capable = false;
};

struct DeviceCheck {
  std::optional<bool> esim_capable;  // nullopt: not known; never a guessed "no"
  std::optional<Device> device;      // the catalogue's model, when one matched
  std::string reason;                // why, or what the subscriber can do to find out
};

struct ImportProblem {
  std::size_t line = 0;  // 1-based line in the file; 0 for the file as a whole
  std::string reason;
};

struct ImportOutcome {
  std::size_t imported = 0;  // rows written (created + updated); 0 whenever problems is not empty
  std::size_t created = 0;
  std::size_t updated = 0;
  std::vector<ImportProblem> problems;  // at most kImportProblemsMax, by line
  bool problems_truncated = false;
};

// The catalogue shipped with the binary (src/devices/devices.csv, embedded at build time by cmake/EmbedText.cmake).
std::string_view embedded_catalogue();

// The key a model is matched by: ASCII lower case, runs of spaces collapsed, trimmed.
std::string model_key(std::string_view text);

class DeviceCatalogue {
 public:
  explicit DeviceCatalogue(storage::Database& database);

  // kInvalidImei for a malformed IMEI; else the answer for its TAC.
  Result<DeviceCheck> check_imei(std::string_view imei);
  // kInvalidEid for a malformed EID; else true (an EID is an eUICC's).
  Result<DeviceCheck> check_eid(std::string_view eid);
  // kValidationFailed for an empty or overlong name; else the answer for the model.
  Result<DeviceCheck> check_model(std::string_view model);

  // Imports embedded_catalogue() when the catalogue has no device; kInternal if it is bad.
  Status seed_if_empty();

  // Parses and checks a catalogue CSV and upserts it (by brand + model) in one transaction: all
  // rows or none. Row problems come back in the outcome; a Status error means the file as a whole
  // could not be taken (too large, storage).
  Result<ImportOutcome> import_csv(std::string_view text);

  // How many models the catalogue holds.
  Result<std::int64_t> count();

 private:
  storage::Database& database_;
};

}  // namespace station::devices
