// `station admin profiles import|stats`: the profile inventory from the command line.

#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/import_refusal.h"
#include "common/clock.h"
#include "common/limits.h"
#include "inventory/inventory.h"

namespace station::cli {
namespace {

struct ProfilesFlags {
  StoreFlags store;
  std::string key_file;
  std::string file;
};

int run_import(const ProfilesFlags& flags) {
  auto database = open_store(flags.store);
  if (!database.is_ok()) return fail(database.status());
  auto keyring = open_keyring(flags.key_file, flags.store.data_dir);
  if (!keyring.is_ok()) return fail(keyring.status());
  // Holds Ki and OPc: wiped once imported.
  auto text = read_file_bounded(flags.file, limits::kProfileImportBytesMax);
  if (!text.is_ok()) return fail(text.status());
  SystemClock clock;
  inventory::Inventory inventory(**database, **keyring, clock);
  auto outcome = inventory.import_csv(*text, fmt::format("import {}", flags.file));
  secrets::wipe(*text);
  if (!outcome.is_ok()) return fail(outcome.status());
  if (!outcome->problems.empty()) return refuse_import(flags.file, *outcome);
  fmt::print(stderr, "imported {} profiles from {}\n", outcome->imported, flags.file);
  fmt::print("{}\n", outcome->imported);
  return 0;
}

int run_stats(const ProfilesFlags& flags) {
  auto database = open_store(flags.store);
  if (!database.is_ok()) return fail(database.status());
  SystemClock clock;
  const secrets::Keyring no_keys;  // counting opens no secret
  inventory::Inventory inventory(**database, no_keys, clock);
  auto stats = inventory.stats();
  if (!stats.is_ok()) return fail(stats.status());
  for (std::size_t i = 0; i < stats->size(); ++i) {
    fmt::print("{} {}\n", inventory::profile_state_name(static_cast<inventory::ProfileState>(i)),
               (*stats)[i]);
  }
  return 0;
}

}  // namespace

void add_profiles_commands(CLI::App& admin, int* exit_code) {
  auto* profiles = admin.add_subcommand("profiles", "The eSIM profile inventory");
  profiles->require_subcommand(1);

  auto import_flags = std::make_shared<ProfilesFlags>();
  auto* import = profiles->add_subcommand(
      "import",
      "Import a vendor CSV (header iccid,imsi,ki,opc[,profile_type,pin1,puk1,pin2,puk2,adm1]); all "
      "or nothing. Prints the count imported, or the offending lines and exits 1");
  add_store_flags(*import, import_flags->store);
  import->add_option("file", import_flags->file, "The CSV file")->required();
  import
      ->add_option("--key-file", import_flags->key_file,
                   "Secrets key file (default: STATION_SECRETS_KEY, else secrets.key in the data "
                   "directory, created on first use)")
      ->envname("STATION_SECRETS_KEY_FILE");
  import->callback([=] { *exit_code = run_import(*import_flags); });

  auto stats_flags = std::make_shared<ProfilesFlags>();
  auto* stats = profiles->add_subcommand("stats", "Profiles per state, one 'state count' a line");
  add_store_flags(*stats, stats_flags->store);
  stats->callback([=] { *exit_code = run_stats(*stats_flags); });
}

}  // namespace station::cli
