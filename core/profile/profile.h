// core/profile/profile.h: which world around the HSM a run models.
//
// The HSM keeps the same rules under both profiles (docs/spec.md); what
// changes is the hypervisor, the device model and the devices around it.
// docs/profiles.md has one row per difference, with ACRN's source file and
// the test that shows each side.
//
//   hardened  the model's own behaviour: completions checked against their
//             holder, a lost notification rescued by a rescan, every access
//             forwarded to the HSM, invalid requests answered all-ones.
//   acrn      what ACRN's hypervisor and device model do: the hypervisor's
//             vPCI answers or drops 0xCF8/0xCFC accesses before the HSM sees
//             them, a non-FREE slot injects #GP, a vCPU wakes on a sticky
//             event flag and resumes without a value if its slot is not
//             COMPLETE, polling is chosen per VM, the device model scans for
//             PROCESSING && !kernel_handled, and the devices answer as
//             ACRN's PCI core and LPC UART do.
//
// Example:
//   absl::StatusOr<ioreq::Profile> p = ioreq::ParseProfile("acrn");
//   if (!p.ok()) ...;  // names what --profile accepts
//   printf("%s\n", ioreq::ProfileName(*p));
#ifndef IOREQ_CORE_PROFILE_PROFILE_H_
#define IOREQ_CORE_PROFILE_PROFILE_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ioreq {

enum class Profile {
  kHardened,
  kAcrn,
};
inline constexpr Profile kAllProfiles[] = {Profile::kHardened, Profile::kAcrn};

const char* ProfileName(Profile profile);  // "hardened", "acrn"
// InvalidArgument naming the accepted values for anything else.
absl::StatusOr<Profile> ParseProfile(absl::string_view name);

}  // namespace ioreq

#endif  // IOREQ_CORE_PROFILE_PROFILE_H_
