#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "cli/commands.h"

namespace station::cli {

Result<std::shared_ptr<const secrets::Keyring>> open_keyring(const std::string& key_file,
                                                              const std::string& data_dir) {
  secrets::KeySource source;
  source.key_file = key_file;
  const char* key_hex = std::getenv("STATION_SECRETS_KEY");
  if (key_hex != nullptr) source.key_hex = key_hex;
  source.default_key_file = (std::filesystem::path(data_dir) / "secrets.key").string();
  STATION_ASSIGN_OR_RETURN(secrets::LoadedKeyring loaded, secrets::load_keyring(source));
  if (loaded.created) {
    fmt::print(stderr,
               "Created the secrets key {} (AES-256, mode 0600). Back it up: without it the "
               "profile secrets in the store cannot be read.\n",
               source.default_key_file);
  }
  return std::make_shared<const secrets::Keyring>(std::move(loaded.keyring));
}

}  // namespace station::cli
