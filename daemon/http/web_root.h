/* daemon/http/web_root.h — opening a console file under [http] web_root
 * without ever following a symbolic link.
 *
 * Owns: nothing past a call; the descriptor returned is the caller's to
 * close. Any thread. */
#ifndef IOCD_HTTP_WEB_ROOT_H
#define IOCD_HTTP_WEB_ROOT_H

#include <stdbool.h>

/* Open `rel` ("app.js", "sub/style.css": relative, '/'-separated, no "."
 * or ".." segment, no empty segment) under directory `root` for reading.
 * No component, the root's own components excepted, may be a symbolic
 * link, and the result is always beneath `root`. Linux's openat2
 * (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) does it in one call; on kernels
 * without it (ENOSYS, before 5.6) a walk opens one component at a time
 * with O_NOFOLLOW. `force_walk` takes the walk even when openat2 exists
 * (tests). A descriptor, or a negative errno (-ELOOP for a link met on
 * the way, -ENOENT, -EXDEV for an escape, -EINVAL for a malformed rel). */
int iocd_web_root_open(const char *root, const char *rel, bool force_walk);

#endif
