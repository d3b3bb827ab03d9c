#include "tools/flags/strict_flags.h"

#include "absl/flags/flag.h"
#include "gtest/gtest.h"

ABSL_FLAG(int, test_count, 3, "a count");
ABSL_FLAG(bool, test_switch, false, "a switch");
ABSL_FLAG(std::string, test_name, "x", "a name");

namespace tools {
namespace {

absl::StatusOr<std::vector<std::string>> Parse(std::vector<const char*> args) {
  args.insert(args.begin(), "prog");
  return ParseFlags(static_cast<int>(args.size()), args.data(), "usage line");
}

TEST(StrictFlags, ParsesEqualsSpaceAndBoolForms) {
  auto r = Parse({"--test_count=7", "--test_switch", "pos", "--test_name",
                  "abc"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(absl::GetFlag(FLAGS_test_count), 7);
  EXPECT_TRUE(absl::GetFlag(FLAGS_test_switch));
  EXPECT_EQ(absl::GetFlag(FLAGS_test_name), "abc");
  EXPECT_EQ(*r, std::vector<std::string>{"pos"});
  ASSERT_TRUE(Parse({"--notest_switch"}).ok());
  EXPECT_FALSE(absl::GetFlag(FLAGS_test_switch));
}

// One dash works like two, as in Abseil's own parser.
TEST(StrictFlags, OneDashIsAFlagToo) {
  auto r = Parse({"-test_count=9", "-test_name", "y"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(absl::GetFlag(FLAGS_test_count), 9);
  EXPECT_EQ(absl::GetFlag(FLAGS_test_name), "y");
}

TEST(StrictFlags, MalformedValueNamesTheFlag) {
  auto r = Parse({"--test_count=12abc"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("--test_count=12abc"), std::string::npos);
  EXPECT_FALSE(Parse({"--test_switch=maybe"}).ok());
  EXPECT_FALSE(Parse({"--test_count=99999999999999999999"}).ok());
  EXPECT_FALSE(Parse({"--test_count="}).ok());
}

TEST(StrictFlags, UnknownAndMissingValue) {
  auto unknown = Parse({"--no_such_flag=1"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown flag --no_such_flag"),
            std::string::npos);
  // "--no" before a name that is no flag, or no bool flag, is unknown too.
  for (const char* arg : {"--nosuch_flag", "--notest_count"}) {
    auto negated = Parse({arg});
    ASSERT_FALSE(negated.ok()) << arg;
    EXPECT_NE(negated.status().message().find(std::string("unknown flag ") + arg),
              std::string::npos)
        << negated.status();
  }
  auto missing = Parse({"--test_count"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("missing value"), std::string::npos);
}

TEST(StrictFlags, HelpListsOurFlagsOnly) {
  auto r = Parse({"--help"});
  ASSERT_EQ(r.status().code(), absl::StatusCode::kCancelled);
  const std::string help(r.status().message());
  EXPECT_NE(help.find("usage line"), std::string::npos);
  EXPECT_NE(help.find("--test_count"), std::string::npos);
  EXPECT_EQ(help.find("--flagfile"), std::string::npos);
  // Sorted by name, and the exit codes every program keeps.
  EXPECT_LT(help.find("--test_count"), help.find("--test_name"));
  EXPECT_LT(help.find("--test_name"), help.find("--test_switch"));
  EXPECT_NE(help.find("Exit codes: 0 all good, 1 the run found a problem, "
                      "2 bad flag or input."),
            std::string::npos);
  // -h and --helpfull ask for it too.
  for (const char* arg : {"-h", "--helpfull", "-help"}) {
    EXPECT_EQ(Parse({arg}).status().code(), absl::StatusCode::kCancelled) << arg;
  }
}

// A bad flag ends the program with exit code 2 and one line on stderr that
// starts with the program's name, its directory left out.
TEST(StrictFlagsDeathTest, ABadFlagExitsTwoNamingTheProgram) {
  char program[] = "/some/where/prog";
  char bad[] = "--no_such_flag";
  char* argv[] = {program, bad, nullptr};
  EXPECT_EXIT(ParseFlagsOrExit(2, argv, "usage line"),
              ::testing::ExitedWithCode(2),
              "^prog: unknown flag --no_such_flag \\(see --help\\)\n$");
}

TEST(StrictFlags, DoubleDashEndsFlags) {
  auto r = Parse({"--", "--test_count=1"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, std::vector<std::string>{"--test_count=1"});
}

}  // namespace
}  // namespace tools
