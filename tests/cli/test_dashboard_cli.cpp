// `sieve dashboard` and its flags; the server itself is tested in tests/dashboard and, in a
// browser, in tests/dashboard_browser.
#include <gtest/gtest.h>

#include "run_sieve.h"

namespace sieve::testing {
namespace {

TEST(DashboardCli, RefusesBadFlagsWithAClearError) {
  CommandResult result = run_sieve("dashboard --runs /nonexistent/runs --listen 127.0.0.1:0");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("--runs: '/nonexistent/runs' is not a directory"), std::string::npos) << result.output;
  result = run_sieve("dashboard --runs . --listen localhost");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("--listen takes HOST:PORT"), std::string::npos) << result.output;
  result = run_sieve("dashboard --runs . --listen 127.0.0.1:70000");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("bad port"), std::string::npos) << result.output;
  result = run_sieve("dashboard --runs . --cores -1 --listen 127.0.0.1:0");
  EXPECT_NE(result.exit_code, 0);
  result = run_sieve("dashboard --runs . --listen 127.0.0.1:0 --serve localhost:8080");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("--serve 'localhost:8080': give the server's address as http://HOST:PORT"),
            std::string::npos)
      << result.output;
  result = run_sieve("dashboard");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("--runs is required"), std::string::npos) << result.output;
}

TEST(DashboardCli, HelpNamesEveryFlag) {
  const CommandResult result = run_sieve("dashboard --help");
  EXPECT_EQ(result.exit_code, 0);
  for (const char* flag : {"--runs", "--listen", "--results", "--cores", "--threads-per-run", "--serve"})
    EXPECT_NE(result.output.find(flag), std::string::npos) << flag;
}

}  // namespace
}  // namespace sieve::testing
