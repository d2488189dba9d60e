// See include/CSealFileStatus.h for why this exists.
#define _GNU_SOURCE
#include "CSealFileStatus.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#if defined(__linux__)
#include <sys/sysmacros.h>
#endif

static int from_stat(const struct stat *source, sealkit_file_status *status) {
    status->device = (uint64_t)source->st_dev;
    status->inode = (uint64_t)source->st_ino;
    status->size = (uint64_t)source->st_size;
    status->mode = (uint32_t)source->st_mode;
    return 0;
}

#if defined(__linux__) && defined(STATX_INO)
// Type, mode, inode and size only: no timestamps asked for (see the header).
static const unsigned int identity_mask = STATX_TYPE | STATX_MODE | STATX_INO | STATX_SIZE;

static int from_statx(int directory, const char *path, int flags, sealkit_file_status *status) {
    struct statx result;
    if (statx(directory, path, flags, identity_mask, &result) != 0) return -1;
    if ((result.stx_mask & identity_mask) != identity_mask) {
        errno = ENOTSUP;
        return -1;
    }
    status->device = (uint64_t)makedev(result.stx_dev_major, result.stx_dev_minor);
    status->inode = (uint64_t)result.stx_ino;
    status->size = (uint64_t)result.stx_size;
    status->mode = (uint32_t)result.stx_mode;
    return 0;
}
#endif

int sealkit_file_status_at_path(const char *path, sealkit_file_status *status) {
#if defined(__linux__) && defined(STATX_INO)
    if (from_statx(AT_FDCWD, path, 0, status) == 0) return 0;
    if (errno != ENOSYS && errno != ENOTSUP) return -1;  // a kernel without statx falls back
#endif
    struct stat result;
    if (stat(path, &result) != 0) return -1;
    return from_stat(&result, status);
}

int sealkit_file_status_of_descriptor(int descriptor, sealkit_file_status *status) {
#if defined(__linux__) && defined(STATX_INO)
    if (from_statx(descriptor, "", AT_EMPTY_PATH, status) == 0) return 0;
    if (errno != ENOSYS && errno != ENOTSUP) return -1;
#endif
    struct stat result;
    if (fstat(descriptor, &result) != 0) return -1;
    return from_stat(&result, status);
}
