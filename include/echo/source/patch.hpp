#pragma once
#include <filesystem>

namespace echo::source {

/// Applies one patch with GNU `patch -p<strip> --batch --forward --no-backup-if-mismatch -d dir -i patch_file`
/// (explicit argv, no shell, stdin /dev/null). Call once per patch, in recipe order.
/// Throws Error(ErrorKind::source) naming the patch and the failing hunk(s) from patch's output
/// ("cannot apply patch fix.patch: src/a.c: Hunk #1 FAILED at 3.").
void apply_patch(const std::filesystem::path& patch_file, const std::filesystem::path& dir, int strip = 1);

} // namespace echo::source
