/*
 * libarchive, loaded on first use.  Linking it would map libarchive's whole
 * dependency tree (libxml2, ICU, libstdc++, nettle...) into every agentd
 * process, about 3 MB of resident pages, for an endpoint most sandboxes
 * never call.  The function types come from <archive.h>, so calls stay
 * type-checked.
 */
#ifndef FS_ARCHIVE_H
#define FS_ARCHIVE_H

#include "../stream/problem.h"

#include <archive.h>
#include <archive_entry.h>

#define FS_ARCHIVE_FUNCS(X)                                                                        \
    X(archive_read_new)                                                                            \
    X(archive_read_support_format_tar)                                                             \
    X(archive_read_support_format_gnutar)                                                          \
    X(archive_read_support_filter_all)                                                             \
    X(archive_read_open_fd)                                                                        \
    X(archive_read_next_header)                                                                    \
    X(archive_read_data_skip)                                                                      \
    X(archive_read_data_block)                                                                     \
    X(archive_read_free)                                                                           \
    X(archive_error_string)                                                                        \
    X(archive_errno)                                                                               \
    X(archive_entry_pathname)                                                                      \
    X(archive_entry_filetype)                                                                      \
    X(archive_entry_hardlink)                                                                      \
    X(archive_entry_size)                                                                          \
    X(archive_entry_set_pathname)                                                                  \
    X(archive_entry_set_hardlink)                                                                  \
    X(archive_entry_set_uid)                                                                       \
    X(archive_entry_set_gid)                                                                       \
    X(archive_write_disk_new)                                                                      \
    X(archive_write_disk_set_options)                                                              \
    X(archive_write_header)                                                                        \
    X(archive_write_data_block)                                                                    \
    X(archive_write_finish_entry)                                                                  \
    X(archive_write_close)                                                                         \
    X(archive_write_free)

struct fs_archive_api {
#define FS_ARCHIVE_MEMBER(fn) __typeof__(&fn) fn;
    FS_ARCHIVE_FUNCS(FS_ARCHIVE_MEMBER)
#undef FS_ARCHIVE_MEMBER
};

/*
 * The loaded API, or NULL with a 503 problem saying how to install it.
 * Thread-safe (worker threads call it); loads once per process.
 */
const struct fs_archive_api *fs_archive(struct problem *err);

#endif
