// cancel_all() must work from a signal handler, so the table of running steps is a fixed array of lock-free
// atomics; this is the module's only process-wide state (a signal handler has no other way to find the steps).
#include "cancel_registry.hpp"

#include "echo/sandbox/runner.hpp"
#include "echo/util/error.hpp"

#include <atomic>
#include <csignal>
#include <cstring>

namespace echo::sandbox {
namespace detail {
namespace {

constexpr int k_slots = 128;
struct Slot {
  std::atomic<bool> in_use{false};
  std::atomic<pid_t> pid{0}; // negative: a process group
  std::atomic<bool> cancelled{false};
};
Slot g_slots[k_slots];
std::atomic<unsigned long> g_epoch{0};
std::atomic<bool> g_interrupted{false}; // sticky: set by the SIGINT/SIGTERM handler only
static_assert(std::atomic<pid_t>::is_always_lock_free && std::atomic<bool>::is_always_lock_free);

} // namespace

CancelSlot::CancelSlot() : m_index(-1), m_epoch(g_epoch.load()) {
  for (int i = 0; i < k_slots; ++i) {
    bool expected = false;
    if (g_slots[i].in_use.compare_exchange_strong(expected, true)) {
      m_index = i;
      g_slots[i].cancelled.store(false);
      g_slots[i].pid.store(0);
      return;
    }
  }
  throw Error(ErrorKind::sandbox, "sandbox: more than 128 steps running at once");
}

CancelSlot::~CancelSlot() {
  g_slots[m_index].pid.store(0);
  g_slots[m_index].in_use.store(false);
}

void CancelSlot::arm(pid_t pid, KillTarget target) noexcept {
  auto& s = g_slots[m_index];
  s.pid.store(target == KillTarget::process_group ? -pid : pid);
  if (g_epoch.load() != m_epoch || g_interrupted.load()) {
    s.cancelled.store(true);
    ::kill(target == KillTarget::process_group ? -pid : pid, SIGKILL);
  }
}

void CancelSlot::disarm() noexcept { g_slots[m_index].pid.store(0); }

bool CancelSlot::cancelled() const noexcept { return g_slots[m_index].cancelled.load(); }

} // namespace detail

void cancel_all() noexcept {
  int saved = errno;
  detail::g_epoch.fetch_add(1);
  for (auto& s : detail::g_slots) {
    pid_t pid = s.pid.load();
    if (pid == 0) continue;
    s.cancelled.store(true);
    ::kill(pid, SIGKILL);
  }
  errno = saved;
}

namespace {
extern "C" void on_interrupt(int sig) {
  detail::g_interrupted.store(true);
  cancel_all();
  // The first signal cancels the running steps and lets the build unwind; a second one terminates at once.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigaction(sig, &dfl, nullptr);
}
} // namespace

bool interrupt_requested() noexcept { return detail::g_interrupted.load(); }

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM})
    if (sigaction(sig, &sa, nullptr) != 0) throw_errno(ErrorKind::internal, "installing interrupt handler");
}

} // namespace echo::sandbox
