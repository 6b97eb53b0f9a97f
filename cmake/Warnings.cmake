# Warnings on for our code only; third-party headers come in as SYSTEM includes.
function(echo_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wcast-align -Woverloaded-virtual -Wformat=2 -Wimplicit-fallthrough)
  if(ECHO_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

if(ECHO_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
