// `station admin devices import FILE`: updates the device catalogue from a CSV.
#include <fmt/format.h>

#include <memory>

#include "cli/commands.h"
#include "cli/import_refusal.h"
#include "devices/catalogue.h"

namespace station::cli {
namespace {

struct DevicesFlags {
  StoreFlags store;
  std::string file;
};

int run_import(const DevicesFlags& flags) {
  auto text = read_file_bounded(flags.file, devices::kImportBytesMax);
  if (!text.is_ok()) return fail(text.status());
  auto database = open_store(flags.store);
  if (!database.is_ok()) return fail(database.status());
  devices::DeviceCatalogue catalogue(**database);
  auto outcome = catalogue.import_csv(*text);
  if (!outcome.is_ok()) return fail(outcome.status());
  if (!outcome->problems.empty()) return refuse_import(flags.file, *outcome);
  fmt::print(stderr, "imported {} devices from {} ({} new, {} updated)\n", outcome->imported,
             flags.file, outcome->created, outcome->updated);
  fmt::print("{}\n", outcome->imported);
  return 0;
}

}  // namespace

void add_devices_commands(CLI::App& admin, int* exit_code) {
  auto* devices = admin.add_subcommand("devices", "The device catalogue of the device check");
  devices->require_subcommand(1);

  auto import_flags = std::make_shared<DevicesFlags>();
  auto* import = devices->add_subcommand(
      "import",
      "Import a catalogue CSV (header brand,model,kind,esim_capable[,tacs]); rows are upserted "
      "by brand and model, all or nothing. Prints the count imported, or the offending lines "
      "and exits 1");
  add_store_flags(*import, import_flags->store);
  import->add_option("file", import_flags->file, "The CSV file")->required();
  import->callback([=] { *exit_code = run_import(*import_flags); });
}

}  // namespace station::cli
