#include "config/serve_config.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

namespace station::config {
namespace {

GetEnv env_from(std::map<std::string, std::string> values) {
  return [values](std::string_view name) -> std::optional<std::string> {
    auto it = values.find(std::string(name));
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

std::string write_toml(const std::string& text) {
  auto path = std::filesystem::temp_directory_path() /
              ("station-config-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
               "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".toml");
  std::ofstream(path) << text;
  return path.string();
}

TEST(ServeConfigTest, DefaultsAreSane) {
  auto config = resolve_serve_config({}, env_from({}));
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_EQ(config->listen.host, "127.0.0.1");
  EXPECT_EQ(config->listen.port, 8080);
  EXPECT_EQ(config->default_currency, "CNY");
  EXPECT_GE(config->threads, 1u);
  EXPECT_EQ(config->idempotency_retention_hours, 168u);
}

TEST(ServeConfigTest, FlagsBeatEnvironmentBeatsFile) {
  ServeFlags flags;
  flags.config_file = write_toml("listen = \"127.0.0.1:1000\"\nthreads = 3\naccess_log = false\n"
                                 "default_currency = \"USD\"\n");
  auto from_file = resolve_serve_config(flags, env_from({}));
  ASSERT_TRUE(from_file.is_ok()) << from_file.status().to_string();
  EXPECT_EQ(from_file->listen.port, 1000);
  EXPECT_EQ(from_file->threads, 3u);
  EXPECT_FALSE(from_file->access_log);
  EXPECT_EQ(from_file->default_currency, "USD");

  auto env = env_from({{"STATION_LISTEN", "127.0.0.1:2000"}, {"STATION_THREADS", "4"}});
  auto from_env = resolve_serve_config(flags, env);
  ASSERT_TRUE(from_env.is_ok());
  EXPECT_EQ(from_env->listen.port, 2000);
  EXPECT_EQ(from_env->threads, 4u);

  flags.values["listen"] = "127.0.0.1:3000";
  auto from_flag = resolve_serve_config(flags, env);
  ASSERT_TRUE(from_flag.is_ok());
  EXPECT_EQ(from_flag->listen.port, 3000);
  EXPECT_EQ(from_flag->threads, 4u);
  std::filesystem::remove(flags.config_file);
}

TEST(ServeConfigTest, ErrorsNameTheSourceAndKey) {
  ServeFlags flags;
  flags.config_file = write_toml("lisen = \"127.0.0.1:1\"\n");
  auto unknown = resolve_serve_config(flags, env_from({}));
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_NE(unknown.status().message().find("unknown key 'lisen'"), std::string::npos);
  std::filesystem::remove(flags.config_file);

  flags.config_file = write_toml("threads = \"two\"\n");
  auto wrong_type = resolve_serve_config(flags, env_from({}));
  ASSERT_FALSE(wrong_type.is_ok());
  EXPECT_NE(wrong_type.status().message().find("threads"), std::string::npos);
  std::filesystem::remove(flags.config_file);

  auto bad_env = resolve_serve_config({}, env_from({{"STATION_IDEMPOTENCY_RETENTION_HOURS", "1"}}));
  ASSERT_FALSE(bad_env.is_ok());
  EXPECT_NE(bad_env.status().message().find("environment STATION_IDEMPOTENCY_RETENTION_HOURS"),
            std::string::npos);

  ServeFlags bad_flag;
  bad_flag.values["default_currency"] = "XXX";
  auto currency = resolve_serve_config(bad_flag, env_from({}));
  ASSERT_FALSE(currency.is_ok());
  EXPECT_NE(currency.status().message().find("flag --default-currency"), std::string::npos);
}

TEST(ServeConfigTest, HostPortParsing) {
  EXPECT_EQ(parse_host_port("127.0.0.1:8080")->port, 8080);
  EXPECT_EQ(parse_host_port("[::1]:0")->host, "::1");
  EXPECT_FALSE(parse_host_port("127.0.0.1").is_ok());
  EXPECT_FALSE(parse_host_port("127.0.0.1:65536").is_ok());
  EXPECT_FALSE(parse_host_port("127.0.0.1:-1").is_ok());
  EXPECT_FALSE(parse_host_port(":80").is_ok());
  EXPECT_FALSE(parse_host_port("[::1:80").is_ok());
}

TEST(ServeConfigTest, EveryOptionHasAFlagWithItsEnvironmentName) {
  CLI::App app;
  ServeFlags flags;
  add_serve_flags(app, flags);
  std::string help = app.help();
  for (const char* flag : {"--listen", "--data-dir", "--database", "--config", "--threads",
                           "--body-bytes-max", "--request-timeout-ms", "--shutdown-grace-ms"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
  EXPECT_NE(help.find("STATION_LISTEN"), std::string::npos);
  app.parse(std::vector<std::string>{"127.0.0.1:9", "--listen"});  // CLI11 takes reversed args
  EXPECT_EQ(flags.values["listen"], "127.0.0.1:9");
}

}  // namespace
}  // namespace station::config
