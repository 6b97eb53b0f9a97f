#pragma once
#include <linux/filter.h>
#include <vector>

namespace echo::sandbox::detail {

/// The sandbox's seccomp program (default allow; the denied syscalls fail with EPERM; non-native ABIs fail
/// with EPERM), compiled once with libseccomp in the parent so the child only calls prctl(). Throws
/// Error(sandbox) if libseccomp fails. The returned vector lives for the whole process.
const std::vector<sock_filter>& seccomp_program();

/// Names of the syscalls denied unconditionally (for docs and tests).
const std::vector<const char*>& denied_syscalls();

} // namespace echo::sandbox::detail
