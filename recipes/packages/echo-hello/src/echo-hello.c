/* echo-hello: the example program of echo-build's recipes. Prints a greeting, the user it runs as and,
 * with --check-tmp, whether /tmp is writable, so the image tests can see the hardened config at work. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef ECHO_HELLO_VERSION
#define ECHO_HELLO_VERSION "unknown"
#endif

int main(int argc, char **argv) {
  const char *who = argc > 1 && strcmp(argv[1], "--check-tmp") != 0 ? argv[1] : "world";
  printf("Hello, %s! (echo-hello %s, uid %u)\n", who, ECHO_HELLO_VERSION, (unsigned)getuid());
  if (argc > 1 && strcmp(argv[argc - 1], "--check-tmp") == 0) {
    char path[] = "/tmp/echo-hello-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
      perror("/tmp");
      return 1;
    }
    close(fd);
    unlink(path);
    puts("/tmp is writable");
  }
  return 0;
}
