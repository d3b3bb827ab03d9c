#include "core/profile/profile.h"

#include "gtest/gtest.h"

namespace ioreq {
namespace {

TEST(ProfileTest, NamesRoundTrip) {
  for (Profile p : kAllProfiles) {
    absl::StatusOr<Profile> parsed = ParseProfile(ProfileName(p));
    ASSERT_TRUE(parsed.ok()) << ProfileName(p);
    EXPECT_EQ(*parsed, p);
  }
}

TEST(ProfileTest, UnknownNameSaysWhatIsAccepted) {
  absl::StatusOr<Profile> parsed = ParseProfile("ACRN");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("acrn or hardened"),
            absl::string_view::npos);
  EXPECT_FALSE(ParseProfile("").ok());
}

}  // namespace
}  // namespace ioreq
