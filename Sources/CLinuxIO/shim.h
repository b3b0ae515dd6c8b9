// epoll and eventfd for ChatServe's event loop (the Glibc module leaves them out).
#include <sys/epoll.h>
#include <sys/eventfd.h>
