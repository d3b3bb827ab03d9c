// tools/testing/no_free_fds.h: leave this process no free file descriptor
// for the length of a scope, so that a test sees what code that must open
// or duplicate a descriptor does when the kernel refuses one (EMFILE).
//
// The constructor lowers RLIMIT_NOFILE's soft limit to 64 (where it was
// higher) and takes every free descriptor below it; the destructor gives
// them back and restores the limit. Descriptors already open above the
// limit stay usable. The limit is the whole process's: hold one only while
// no other thread needs a new descriptor.
//
// Example:
//   {
//     ioreq::testing::NoFreeFds none;
//     ASSERT_TRUE(none.ok());
//     EXPECT_EQ(table.Assign(args).status().code(),
//               absl::StatusCode::kResourceExhausted);
//   }  // descriptors free again
#ifndef IOREQ_TOOLS_TESTING_NO_FREE_FDS_H_
#define IOREQ_TOOLS_TESTING_NO_FREE_FDS_H_

#include <sys/resource.h>

#include <vector>

namespace ioreq::testing {

class NoFreeFds {
 public:
  NoFreeFds();
  ~NoFreeFds();
  NoFreeFds(const NoFreeFds&) = delete;
  NoFreeFds& operator=(const NoFreeFds&) = delete;

  // True when the limit was lowered and the last descriptor asked for was
  // refused with EMFILE: no descriptor is free now.
  bool ok() const { return ok_; }

 private:
  rlimit old_{};
  bool lowered_ = false;
  bool ok_ = false;
  std::vector<int> taken_;
};

}  // namespace ioreq::testing

#endif  // IOREQ_TOOLS_TESTING_NO_FREE_FDS_H_
