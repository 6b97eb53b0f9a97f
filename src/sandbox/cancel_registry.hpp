#pragma once
#include <sys/types.h>

namespace echo::sandbox::detail {

/// What cancel_all() kills for one running step.
enum class KillTarget { process, process_group };

/// One running step's entry in the process-wide table that cancel_all() walks (async-signal-safe: fixed array
/// of atomics). Acquire before starting the child, arm() with its pid, disarm() before reaping it (so a pid is
/// never signalled after it could be reused). Throws Error(sandbox) if too many steps run at once.
class CancelSlot {
public:
  CancelSlot();
  ~CancelSlot();
  CancelSlot(const CancelSlot&) = delete;
  CancelSlot& operator=(const CancelSlot&) = delete;
  /// Publishes the child; kills it at once if cancel_all() ran since this slot was acquired.
  void arm(pid_t pid, KillTarget target) noexcept;
  void disarm() noexcept;
  bool cancelled() const noexcept;

private:
  int m_index;
  unsigned long m_epoch;
};

} // namespace echo::sandbox::detail
