#include "core/profile/profile.h"

#include "absl/strings/str_cat.h"

namespace ioreq {

const char* ProfileName(Profile profile) {
  switch (profile) {
    case Profile::kHardened:
      return "hardened";
    case Profile::kAcrn:
      return "acrn";
  }
  return "unknown";
}

absl::StatusOr<Profile> ParseProfile(absl::string_view name) {
  for (Profile p : kAllProfiles) {
    if (name == ProfileName(p)) return p;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown profile '", name, "' (acrn or hardened)"));
}

}  // namespace ioreq
