// The identity of a file (device, inode, size, mode) read without asking for its timestamps.
//
// Why not stat(2): since Linux 6.13 (multigrain timestamps) a stat, fstat or statx that asks for a
// file's ctime or mtime marks the inode as queried, so the next write takes a fine-grained
// timestamp and dirties the inode; ext4's fdatasync then writes the inode as well as the data. The
// state file's append path (Firmware/NVM/FileBackingStore.swift) checks the file before every
// commit; with stat(2) that made each commit's fdatasync about 1.5 times as slow (measured on this
// project's machine, docs/benchmarks.md). statx(2) with a mask that leaves the timestamps out
// returns the same identity without that side effect. Swift's Glibc module does not declare statx
// (it needs _GNU_SOURCE), hence this small C target.
#ifndef CSEALFILESTATUS_H
#define CSEALFILESTATUS_H

#include <stdint.h>

typedef struct {
    uint64_t device;  // as st_dev
    uint64_t inode;   // as st_ino
    uint64_t size;    // as st_size
    uint32_t mode;    // as st_mode (type and permission bits)
} sealkit_file_status;

/// Fills `status` for the file at `path` (symbolic links followed). 0 on success, else -1 with errno.
int sealkit_file_status_at_path(const char *path, sealkit_file_status *status);

/// Fills `status` for an open descriptor. 0 on success, else -1 with errno.
int sealkit_file_status_of_descriptor(int descriptor, sealkit_file_status *status);

#endif
