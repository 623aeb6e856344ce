/*
 * sys.c - see sys.h.
 */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <stdio.h>
#include <unistd.h>
#if defined(__linux__) || defined(__APPLE__)
#include <sys/xattr.h>
#endif

int sys_set_flags(int fd, int flags)
{
    if (flags & SYS_CLOEXEC) {
        int f = fcntl(fd, F_GETFD);
        if (f < 0 || fcntl(fd, F_SETFD, f | FD_CLOEXEC) != 0)
            return -1;
    }
    if (flags & SYS_NONBLOCK) {
        int f = fcntl(fd, F_GETFL);
        if (f < 0 || fcntl(fd, F_SETFL, f | O_NONBLOCK) != 0)
            return -1;
    }
    return 0;
}

#if !SYS_LINUX
/* A socket that must not raise SIGPIPE where send() cannot be told so. */
static int nosigpipe(int fd)
{
#if defined(SO_NOSIGPIPE)
    int one = 1;
    return setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one));
#else
    (void)fd;
    return 0;
#endif
}

static int fail_close(int fd)
{
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}
#endif

int sys_socket(int domain, int type, int proto, int flags)
{
#if SYS_LINUX
    return socket(domain,
                  type | (flags & SYS_NONBLOCK ? SOCK_NONBLOCK : 0) |
                      (flags & SYS_CLOEXEC ? SOCK_CLOEXEC : 0),
                  proto);
#else
    int fd = socket(domain, type, proto);
    if (fd >= 0 && (sys_set_flags(fd, flags) != 0 || nosigpipe(fd) != 0))
        return fail_close(fd);
    return fd;
#endif
}

int sys_socketpair(int sv[2], int flags)
{
#if SYS_LINUX
    return socketpair(AF_UNIX,
                      SOCK_STREAM | (flags & SYS_NONBLOCK ? SOCK_NONBLOCK : 0) |
                          (flags & SYS_CLOEXEC ? SOCK_CLOEXEC : 0),
                      0, sv);
#else
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        if (sys_set_flags(sv[i], flags) != 0 || nosigpipe(sv[i]) != 0) {
            close(sv[1 - i]);
            return fail_close(sv[i]);
        }
    }
    return 0;
#endif
}

int sys_accept(int lfd, struct sockaddr *addr, socklen_t *len, int flags)
{
#if SYS_LINUX
    return accept4(lfd, addr, len,
                   (flags & SYS_NONBLOCK ? SOCK_NONBLOCK : 0) |
                       (flags & SYS_CLOEXEC ? SOCK_CLOEXEC : 0));
#else
    int fd = accept(lfd, addr, len);
    /* An accepted socket inherits O_NONBLOCK on BSD and macOS, not on
     * Linux: set exactly what was asked. */
    if (fd >= 0 && !(flags & SYS_NONBLOCK)) {
        int f = fcntl(fd, F_GETFL);
        if (f < 0 || fcntl(fd, F_SETFL, f & ~O_NONBLOCK) != 0)
            return fail_close(fd);
    }
    if (fd >= 0 && (sys_set_flags(fd, flags) != 0 || nosigpipe(fd) != 0))
        return fail_close(fd);
    return fd;
#endif
}

int sys_pipe(int fds[2], int flags)
{
#if SYS_LINUX
    return pipe2(fds,
                 (flags & SYS_NONBLOCK ? O_NONBLOCK : 0) | (flags & SYS_CLOEXEC ? O_CLOEXEC : 0));
#else
    if (pipe(fds) != 0)
        return -1;
    if (sys_set_flags(fds[0], flags) != 0 || sys_set_flags(fds[1], flags) != 0) {
        close(fds[1]);
        return fail_close(fds[0]);
    }
    return 0;
#endif
}

int sys_cond_init(pthread_cond_t *cv)
{
#if SYS_LINUX
    pthread_condattr_t ca;
    int e = pthread_condattr_init(&ca);
    if (e == 0 && (e = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) == 0)
        e = pthread_cond_init(cv, &ca);
    pthread_condattr_destroy(&ca);
    return e;
#else
    return pthread_cond_init(cv, NULL);
#endif
}

int sys_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t at_ms)
{
    struct timespec ts;
#if SYS_LINUX
    ts.tv_sec = (time_t)(at_ms / 1000);
    ts.tv_nsec = (long)(at_ms % 1000) * 1000000L;
#else
    struct timespec mono;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    int64_t left = at_ms - ((int64_t)mono.tv_sec * 1000 + mono.tv_nsec / 1000000);
    if (left < 0)
        left = 0;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(left / 1000);
    ts.tv_nsec += (long)(left % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
#endif
    return pthread_cond_timedwait(cv, mu, &ts);
}

int sys_peer_closed(int fd)
{
#if SYS_LINUX
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP));
#else
    /* Readable, and what there is to read is the end. */
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char c;
    if (poll(&p, 1, 0) <= 0)
        return 0;
    return (p.revents & POLLHUP) || recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
#endif
}

int64_t sys_mtime_ns(const struct stat *st)
{
#if defined(__APPLE__)
    return (int64_t)st->st_mtimespec.tv_sec * 1000000000 + st->st_mtimespec.tv_nsec;
#else
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
#endif
}

int sys_rename_noreplace(int dfd, const char *from, const char *to)
{
#if SYS_LINUX && defined(RENAME_NOREPLACE)
    if (renameat2(dfd, from, dfd, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
#elif defined(__APPLE__) && defined(RENAME_EXCL)
    if (renameatx_np(dfd, from, dfd, to, RENAME_EXCL) == 0)
        return 0;
    if (errno != ENOTSUP && errno != EINVAL)
        return -1;
#endif
    /* No such call, or a file system without it: link() never replaces. */
    if (linkat(dfd, from, dfd, to, 0) != 0)
        return -1;
    unlinkat(dfd, from, 0);
    return 0;
}

void sys_advise_sequential(int fd)
{
#if defined(POSIX_FADV_SEQUENTIAL)
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#elif defined(F_RDAHEAD)
    fcntl(fd, F_RDAHEAD, 1);
#else
    (void)fd;
#endif
}

ssize_t sys_getxattr(int fd, const char *name, void *buf, size_t len)
{
#if defined(__APPLE__)
    return fgetxattr(fd, name, buf, len, 0, 0);
#elif defined(__linux__)
    return fgetxattr(fd, name, buf, len);
#else
    (void)fd, (void)name, (void)buf, (void)len;
    errno = ENOTSUP;
    return -1;
#endif
}

int sys_setxattr(int fd, const char *name, const void *buf, size_t len)
{
#if defined(__APPLE__)
    return fsetxattr(fd, name, buf, len, 0, 0);
#elif defined(__linux__)
    return fsetxattr(fd, name, buf, len, 0);
#else
    (void)fd, (void)name, (void)buf, (void)len;
    errno = ENOTSUP;
    return -1;
#endif
}

int sys_removexattr(int fd, const char *name)
{
#if defined(__APPLE__)
    return fremovexattr(fd, name, 0);
#elif defined(__linux__)
    return fremovexattr(fd, name);
#else
    (void)fd, (void)name;
    errno = ENOTSUP;
    return -1;
#endif
}
