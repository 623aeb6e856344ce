/*
 * sys.h - the system calls Linux has and macOS (or another POSIX system)
 * lacks or spells otherwise, in one place: sockets, pipes and accepted
 * connections made non-blocking and close-on-exec, a file's mtime in
 * nanoseconds, a rename that never replaces, read-ahead advice and
 * extended attributes.
 *
 * Linux gets its one-call forms (SOCK_CLOEXEC, accept4, pipe2,
 * renameat2) unless built with PCP_PORTABLE, which takes the portable
 * paths there too, so that the code macOS runs is tested on Linux. On
 * macOS, where MSG_NOSIGNAL may be missing, sockets also get SO_NOSIGPIPE.
 */
#ifndef PCP_SYS_H
#define PCP_SYS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#if defined(__linux__) && !defined(PCP_PORTABLE)
#define SYS_LINUX 1 /* the Linux fast paths */
#else
#define SYS_LINUX 0
#endif

#ifdef MSG_NOSIGNAL
#define SYS_NOSIGNAL MSG_NOSIGNAL
#else
#define SYS_NOSIGNAL 0 /* SO_NOSIGPIPE on the socket instead */
#endif

/* Flags of the calls below. */
#define SYS_NONBLOCK 1
#define SYS_CLOEXEC 2

/* socket(), then the flags; -1 and errno on failure. */
int sys_socket(int domain, int type, int proto, int flags);
/* socketpair() of AF_UNIX stream sockets with the flags (both ends). */
int sys_socketpair(int sv[2], int flags);
/* accept() of a connection with the flags. */
int sys_accept(int lfd, struct sockaddr *addr, socklen_t *len, int flags);
/* pipe() with the flags on both ends. */
int sys_pipe(int fds[2], int flags);
/* Set or clear the flags on fd (fcntl); 0 or -1. */
int sys_set_flags(int fd, int flags);

/* The file's mtime, nanoseconds since the epoch. */
int64_t sys_mtime_ns(const struct stat *st);
/* renameat(dfd, from, dfd, to) that fails with EEXIST rather than replace
 * `to`: renameat2(RENAME_NOREPLACE) on Linux, renameatx_np(RENAME_EXCL)
 * on macOS, else (and where the file system refuses those) a hard link
 * and an unlink, which never replace either. 0 or -1 and errno. */
int sys_rename_noreplace(int dfd, const char *from, const char *to);
/* The file will be read from start to end (a hint; nothing where the
 * system has no such advice). */
void sys_advise_sequential(int fd);

/* A condition variable whose waits take deadlines in milliseconds on
 * CLOCK_MONOTONIC (net_now_ms()'s clock): Linux sets the condition's
 * clock; elsewhere (macOS has no pthread_condattr_setclock) each wait
 * turns the time left into a realtime deadline. The wait's result is
 * pthread_cond_timedwait's. */
int sys_cond_init(pthread_cond_t *cv);
int sys_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t at_ms);

/* 1 when the peer of the connected socket fd has closed its side (a
 * read would give end of file), without reading anything. */
int sys_peer_closed(int fd);

/* The extended attribute name on fd: Linux's user namespace is added
 * where the system has namespaces. -1 and errno (ENOTSUP where there are
 * none). */
ssize_t sys_getxattr(int fd, const char *name, void *buf, size_t len);
int sys_setxattr(int fd, const char *name, const void *buf, size_t len);
int sys_removexattr(int fd, const char *name);

#endif
