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
  auto path =
      std::filesystem::temp_directory_path() /
      ("station-config-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
       ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".toml");
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
  flags.config_file = write_toml(
      "listen = \"127.0.0.1:1000\"\nthreads = 3\naccess_log = false\n"
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

TEST(ServeConfigTest, LimitsOutsideTheirRangesAreRefused) {
  struct Case {
    const char* env;
    const char* value;
  };
  for (auto [env, value] :
       {Case{"STATION_BODY_BYTES_MAX", "1048576"}, Case{"STATION_BODY_BYTES_MAX", "10"},
        Case{"STATION_HEADER_BYTES_MAX", "100"}, Case{"STATION_REQUEST_TIMEOUT_MS", "0"},
        Case{"STATION_KEEP_ALIVE_IDLE_MS", "99999999999"}, Case{"STATION_THREADS", "100000"},
        Case{"STATION_THREADS", "-1"}, Case{"STATION_THREADS", "2x"},
        Case{"STATION_LOG_LEVEL", "loud"}, Case{"STATION_ACCESS_LOG", "maybe"},
        Case{"STATION_DATA_DIR", ""}}) {
    auto config = resolve_serve_config({}, env_from({{env, value}}));
    ASSERT_FALSE(config.is_ok()) << env << "=" << value;
    EXPECT_EQ(config.status().code(), ErrorCode::kValidationFailed);
    EXPECT_NE(config.status().message().find(std::string("environment ") + env), std::string::npos)
        << config.status().message();
  }
}

TEST(ServeConfigTest, DatabaseUrlSchemeIsCheckedWithoutQuotingTheUrl) {
  ServeFlags flags;
  flags.values["database"] = "mysql://admin:hunter2@db/station";
  auto config = resolve_serve_config(flags, env_from({}));
  ASSERT_FALSE(config.is_ok());
  EXPECT_NE(config.status().message().find("flag --database"), std::string::npos);
  EXPECT_EQ(config.status().message().find("hunter2"), std::string::npos);

  flags.values["database"] = "postgresql://station@127.0.0.1:5432/station";
  ASSERT_TRUE(resolve_serve_config(flags, env_from({})).is_ok());
}

TEST(ServeConfigTest, TomlValuesOfTheWrongTypeOrShapeAreRefused) {
  for (const char* text :
       {"access_log = \"yes\"\n", "listen = 8080\n", "threads = -2\n", "threads = 1.5\n",
        "[server]\nlisten = \"127.0.0.1:1\"\n",
        "listen = \"127.0.0.1:1\"\nlisten = \"127.0.0.1:2\"\n", "not toml at all ["}) {
    ServeFlags flags;
    flags.config_file = write_toml(text);
    auto config = resolve_serve_config(flags, env_from({}));
    EXPECT_FALSE(config.is_ok()) << text;
    EXPECT_NE(config.status().message().find("config file " + flags.config_file), std::string::npos)
        << config.status().message();
    std::filesystem::remove(flags.config_file);
  }
  ServeFlags missing;
  missing.config_file = "/nonexistent/station.toml";
  auto config = resolve_serve_config(missing, env_from({}));
  ASSERT_FALSE(config.is_ok());
  EXPECT_NE(config.status().message().find("/nonexistent/station.toml"), std::string::npos);
}

TEST(ServeConfigTest, ConfigFileMayComeFromTheEnvironment) {
  std::string path = write_toml("default_currency = \"EUR\"\naccess_log = false\n");
  auto config =
      resolve_serve_config({}, env_from({{"STATION_CONFIG", path}, {"STATION_ACCESS_LOG", "on"}}));
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_EQ(config->default_currency, "EUR");
  EXPECT_TRUE(config->access_log);
  std::filesystem::remove(path);
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
  for (const char* env :
       {"STATION_LISTEN", "STATION_DATA_DIR", "STATION_DATABASE", "STATION_THREADS",
        "STATION_HEADER_BYTES_MAX", "STATION_BODY_BYTES_MAX", "STATION_REQUEST_TIMEOUT_MS",
        "STATION_KEEP_ALIVE_IDLE_MS", "STATION_SHUTDOWN_GRACE_MS", "STATION_LOG_LEVEL",
        "STATION_ACCESS_LOG", "STATION_DEFAULT_CURRENCY", "STATION_IDEMPOTENCY_RETENTION_HOURS"}) {
    EXPECT_NE(help.find(env), std::string::npos) << env;
  }
  EXPECT_NE(help.find("default 127.0.0.1:8080"), std::string::npos) << help;
  EXPECT_NE(help.find("default CNY"), std::string::npos) << help;
  app.parse(std::vector<std::string>{"127.0.0.1:9", "--listen"});  // CLI11 takes reversed args
  EXPECT_EQ(flags.values["listen"], "127.0.0.1:9");
}

}  // namespace
}  // namespace station::config
