#include "cli/commands.h"

namespace station::cli {

void add_serve_command(CLI::App& app, int* exit_code) {
  auto* serve = app.add_subcommand("serve", "Run the Station server");
  serve->callback([exit_code] { *exit_code = 1; });
}

}  // namespace station::cli
