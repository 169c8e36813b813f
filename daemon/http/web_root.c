/* daemon/http/web_root.c — console files under [http] web_root, opened
 * without following any symbolic link (see web_root.h).
 *
 * Owns: the descriptors of the walk (each closed before returning, but
 * the final one, which the caller owns). Never follows a link, never
 * resolves "..", never leaves the root: a symlinked directory inside the
 * root would otherwise hand out any file iocd can read. */
#include "daemon/http/web_root.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SEGMENT_MAX 255

/* openat2 through syscall(2): glibc 2.36 (Debian 12) has no wrapper. */
static int open_beneath(int dirfd, const char *rel)
{
#ifdef SYS_openat2
    struct open_how how = {
        .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, /* a FIFO must not block */
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
    return fd >= 0 ? (int)fd : -errno;
#else
    (void)dirfd;
    (void)rel;
    return -ENOSYS;
#endif
}

/* One component at a time: directories with O_DIRECTORY | O_NOFOLLOW
 * (O_NOFOLLOW refuses a link in the last place of each openat, which is
 * every component in turn), the file with O_NOFOLLOW | O_NONBLOCK. */
static int open_walk(int rootfd, const char *rel)
{
    int dir = rootfd;
    const char *p = rel;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        char seg[SEGMENT_MAX + 1];
        int fd;
        if (n == 0 || n > SEGMENT_MAX || (n == 1 && p[0] == '.') ||
            (n == 2 && p[0] == '.' && p[1] == '.')) {
            fd = -EINVAL;
        } else {
            memcpy(seg, p, n);
            seg[n] = '\0';
            int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW;
            fd = openat(dir, seg, slash ? flags | O_DIRECTORY : flags | O_NONBLOCK);
            if (fd < 0) {
                fd = -errno;
                /* O_DIRECTORY meets a link before O_NOFOLLOW: say why. */
                struct stat st;
                if (fd == -ENOTDIR && fstatat(dir, seg, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                    S_ISLNK(st.st_mode))
                    fd = -ELOOP;
            }
        }
        if (dir != rootfd)
            close(dir);
        if (fd < 0 || !slash)
            return fd;
        dir = fd;
        p = slash + 1;
    }
}

int iocd_web_root_open(const char *root, const char *rel, bool force_walk)
{
    if (!rel[0] || rel[0] == '/')
        return -EINVAL;
    int rootfd = open(root, O_RDONLY | O_CLOEXEC | O_DIRECTORY);
    if (rootfd < 0)
        return -errno;
    int fd = force_walk ? -ENOSYS : open_beneath(rootfd, rel);
    if (fd == -ENOSYS)
        fd = open_walk(rootfd, rel);
    close(rootfd);
    return fd;
}
