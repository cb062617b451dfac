// station: one binary, many subcommands. main only wires the command-line front to the
// commands in cli/; everything else lives in the domain libraries.
#include <CLI/CLI.hpp>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"Station: an eSIM operator platform (SM-DP+, ordering, wallet and ledger)",
               "station"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "station 0.1.0");
  int exit_code = 0;
  station::cli::add_serve_command(app, &exit_code);
  station::cli::add_smdp_command(app, &exit_code);
  station::cli::add_admin_command(app, &exit_code);
  station::cli::add_pki_command(app, &exit_code);
  station::cli::add_lpa_command(app, &exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
