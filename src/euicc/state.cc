#include "euicc/state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "rsp_crypto/rsp_crypto.h"

namespace station::euicc {
namespace {

using nlohmann::json;

constexpr int kStateVersion = 1;
constexpr std::string_view kPrivateKeyContext = "euicc:key";

Status invalid_state(std::string message) {
  return Status(ErrorCode::kValidationFailed, "eUICC state: " + std::move(message));
}

std::string b64(const std::vector<std::uint8_t>& bytes) { return secrets::base64_encode(bytes); }

Result<std::vector<std::uint8_t>> unb64(const json& value, std::string_view what) {
  if (!value.is_string()) return invalid_state(fmt::format("{} is not a string", what));
  auto bytes = secrets::base64_decode(value.get<std::string>());
  if (!bytes) return invalid_state(fmt::format("{} is not base64", what));
  return std::move(*bytes);
}

Status write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return Status(ErrorCode::kStorageError, fmt::format("write: {}", std::strerror(errno)));
    }
    data.remove_prefix(static_cast<std::size_t>(written));
  }
  return Status::ok();
}

// Writes `text` to `path` atomically with mode 0600.
Status write_atomically(const std::string& path, std::string_view text) {
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status(ErrorCode::kStorageError,
                  fmt::format("cannot write {}: {}", temporary, std::strerror(errno)));
  }
  Status status = write_all(fd, text);
  if (status.is_ok() && ::fchmod(fd, 0600) != 0) {
    status = Status(ErrorCode::kStorageError, fmt::format("chmod: {}", std::strerror(errno)));
  }
  if (status.is_ok() && ::fsync(fd) != 0) {
    status = Status(ErrorCode::kStorageError, fmt::format("fsync: {}", std::strerror(errno)));
  }
  ::close(fd);
  if (status.is_ok() && ::rename(temporary.c_str(), path.c_str()) != 0) {
    status = Status(ErrorCode::kStorageError,
                    fmt::format("rename to {}: {}", path, std::strerror(errno)));
  }
  if (!status.is_ok()) {
    ::unlink(temporary.c_str());
    return status;
  }
  std::string folder = std::filesystem::path(path).parent_path().string();
  if (folder.empty()) folder = ".";
  if (const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
    ::fsync(dir);  // the rename is durable once the folder is
    ::close(dir);
  }
  return Status::ok();
}

Result<std::string> read_bounded(const std::string& path) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (error) {
    if (!std::filesystem::exists(path)) {
      return Status(ErrorCode::kNotFound, fmt::format("no eUICC state file {}", path));
    }
    return Status(ErrorCode::kStorageError, fmt::format("{}: {}", path, error.message()));
  }
  if (size > kMaxStateFileBytes) {
    return Status(ErrorCode::kPayloadTooLarge,
                  fmt::format("{} is {} bytes, beyond the {} bytes of a state file", path, size,
                              kMaxStateFileBytes));
  }
  std::ifstream in(path, std::ios::binary);
  std::string text(size, '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(size))) {
    return Status(ErrorCode::kStorageError, fmt::format("cannot read {}", path));
  }
  return text;
}

Result<NotificationEvent> event_from_name(std::string_view name) {
  for (auto event : {NotificationEvent::kInstall, NotificationEvent::kEnable,
                     NotificationEvent::kDisable, NotificationEvent::kDelete}) {
    if (event_name(event) == name) return event;
  }
  return invalid_state(fmt::format("unknown notification event '{}'", name));
}

}  // namespace

std::string_view event_name(NotificationEvent event) {
  switch (event) {
    case NotificationEvent::kInstall:
      return "install";
    case NotificationEvent::kEnable:
      return "enable";
    case NotificationEvent::kDisable:
      return "disable";
    case NotificationEvent::kDelete:
      return "delete";
  }
  return "unknown";
}

std::string state_to_json(const EuiccState& state) {
  json profiles = json::array();
  for (const auto& profile : state.profiles) {
    json addresses = json::array();
    for (const auto& [event, address] : profile.notification_addresses) {
      addresses.push_back({{"event", event_name(event)}, {"address", address}});
    }
    profiles.push_back({{"iccid", profile.iccid},
                        {"isdp_aid", rsp_crypto::to_hex(profile.isdp_aid)},
                        {"enabled", profile.enabled},
                        {"service_provider_name", profile.service_provider_name},
                        {"profile_name", profile.profile_name},
                        {"profile_class", profile.profile_class},
                        {"imsi", profile.imsi},
                        {"ki", profile.sealed_ki},
                        {"opc", profile.sealed_opc},
                        {"notification_addresses", addresses}});
  }
  json notifications = json::array();
  for (const auto& notification : state.notifications) {
    notifications.push_back({{"seq_number", notification.sequence_number},
                             {"event", event_name(notification.event)},
                             {"iccid", notification.iccid},
                             {"address", notification.address},
                             {"pending_notification", b64(notification.encoded)}});
  }
  json cis = json::array();
  for (const auto& ci : state.ci_certificates) cis.push_back(b64(ci));
  json document = {{"version", kStateVersion},
                   {"eid", state.eid},
                   {"euicc_certificate", b64(state.euicc_certificate)},
                   {"eum_certificate", b64(state.eum_certificate)},
                   {"ci_certificates", cis},
                   {"euicc_private_key", state.sealed_private_key},
                   {"next_seq_number", state.next_sequence_number},
                   {"next_isdp_number", state.next_isdp_number},
                   {"profiles", profiles},
                   {"notifications", notifications}};
  return document.dump(2) + "\n";
}

Result<EuiccState> state_from_json(std::string_view text) {
  json document = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object()) return invalid_state("not a JSON object");
  EuiccState state;
  try {
    if (document.at("version").get<int>() != kStateVersion) {
      return invalid_state("unknown version");
    }
    state.eid = document.at("eid").get<std::string>();
    STATION_ASSIGN_OR_RETURN(state.euicc_certificate,
                             unb64(document.at("euicc_certificate"), "euicc_certificate"));
    STATION_ASSIGN_OR_RETURN(state.eum_certificate,
                             unb64(document.at("eum_certificate"), "eum_certificate"));
    for (const auto& ci : document.at("ci_certificates")) {
      STATION_ASSIGN_OR_RETURN(auto der, unb64(ci, "ci_certificates"));
      state.ci_certificates.push_back(std::move(der));
    }
    state.sealed_private_key = document.at("euicc_private_key").get<std::string>();
    state.next_sequence_number = document.at("next_seq_number").get<std::int64_t>();
    state.next_isdp_number = document.at("next_isdp_number").get<std::uint32_t>();
    const json& profiles = document.at("profiles");
    const json& notifications = document.at("notifications");
    if (!profiles.is_array() || profiles.size() > kMaxProfiles || !notifications.is_array() ||
        notifications.size() > kMaxPendingNotifications || state.ci_certificates.empty()) {
      return invalid_state("profiles, notifications or CIs out of bounds");
    }
    for (const auto& entry : profiles) {
      InstalledProfile profile;
      profile.iccid = entry.at("iccid").get<std::string>();
      STATION_ASSIGN_OR_RETURN(profile.isdp_aid,
                               rsp_crypto::from_hex(entry.at("isdp_aid").get<std::string>()));
      profile.enabled = entry.at("enabled").get<bool>();
      profile.service_provider_name = entry.at("service_provider_name").get<std::string>();
      profile.profile_name = entry.at("profile_name").get<std::string>();
      profile.profile_class = entry.at("profile_class").get<std::int64_t>();
      profile.imsi = entry.at("imsi").get<std::string>();
      profile.sealed_ki = entry.at("ki").get<std::string>();
      profile.sealed_opc = entry.at("opc").get<std::string>();
      for (const auto& address : entry.at("notification_addresses")) {
        STATION_ASSIGN_OR_RETURN(auto event,
                                 event_from_name(address.at("event").get<std::string>()));
        profile.notification_addresses.emplace_back(event,
                                                    address.at("address").get<std::string>());
      }
      state.profiles.push_back(std::move(profile));
    }
    for (const auto& entry : notifications) {
      PendingNotification notification;
      notification.sequence_number = entry.at("seq_number").get<std::int64_t>();
      STATION_ASSIGN_OR_RETURN(notification.event,
                               event_from_name(entry.at("event").get<std::string>()));
      notification.iccid = entry.at("iccid").get<std::string>();
      notification.address = entry.at("address").get<std::string>();
      STATION_ASSIGN_OR_RETURN(notification.encoded,
                               unb64(entry.at("pending_notification"), "pending_notification"));
      state.notifications.push_back(std::move(notification));
    }
  } catch (const json::exception& error) {
    return invalid_state(error.what());
  }
  return state;
}

Result<StateFile> StateFile::create(const std::string& path, const std::string& pki_dir) {
  if (std::filesystem::exists(path)) {
    return Status(ErrorCode::kConflict, fmt::format("{} exists already", path));
  }
  STATION_ASSIGN_OR_RETURN(auto pki, rsp_crypto::load_test_pki(pki_dir));
  STATION_ASSIGN_OR_RETURN(auto loaded, secrets::load_keyring({.default_key_file = path + ".key"}));
  auto keyring = std::make_unique<secrets::Keyring>(std::move(loaded.keyring));
  EuiccState state;
  state.eid = pki.eid;
  STATION_ASSIGN_OR_RETURN(state.euicc_certificate, pki.euicc.certificate.der());
  STATION_ASSIGN_OR_RETURN(state.eum_certificate, pki.eum.certificate.der());
  STATION_ASSIGN_OR_RETURN(auto ci, pki.ci.certificate.der());
  state.ci_certificates.push_back(std::move(ci));
  STATION_ASSIGN_OR_RETURN(auto key_pem, rsp_crypto::private_key_to_pem(pki.euicc.key));
  state.sealed_private_key = keyring->seal(key_pem.view(), kPrivateKeyContext);
  StateFile file(path, std::move(state), std::move(keyring));
  STATION_RETURN_IF_ERROR(file.save());
  return file;
}

Result<StateFile> StateFile::open(const std::string& path) {
  STATION_ASSIGN_OR_RETURN(auto text, read_bounded(path));
  STATION_ASSIGN_OR_RETURN(auto state, state_from_json(text));
  STATION_ASSIGN_OR_RETURN(auto keyring, secrets::load_key_file(path + ".key"));
  return StateFile(path, std::move(state), std::make_unique<secrets::Keyring>(std::move(keyring)));
}

Result<rsp_crypto::EcKey> StateFile::private_key() const {
  STATION_ASSIGN_OR_RETURN(auto pem, keyring_->open(state_.sealed_private_key, kPrivateKeyContext));
  return rsp_crypto::private_key_from_pem(pem.view());
}

Status StateFile::save() const { return write_atomically(path_, state_to_json(state_)); }

}  // namespace station::euicc
