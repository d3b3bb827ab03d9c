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
}

TEST(StrictFlags, DoubleDashEndsFlags) {
  auto r = Parse({"--", "--test_count=1"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, std::vector<std::string>{"--test_count=1"});
}

}  // namespace
}  // namespace tools
