#pragma once
#include <memory>

namespace echo {

/// unique_ptr deleter calling a C library's free function (archive_write_free, curl_easy_cleanup, ...).
template <auto Fn> struct CDeleter {
  template <class T> void operator()(T* p) const noexcept {
    if (p) Fn(p);
  }
};

/// Owning handle of a C library object: `using CurlPtr = CHandle<CURL, curl_easy_cleanup>;`
template <class T, auto Fn> using CHandle = std::unique_ptr<T, CDeleter<Fn>>;

} // namespace echo
