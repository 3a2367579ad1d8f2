/*
 * A look inside archives (zip, 7z, rar, tar, cab, lha, cpio, iso, ..., and gzip /
 * bzip2 / xz / lzma / zstd / compress streams) with libarchive, for the dangerous-file
 * detections: does the archive, or an archive inside it, hold an executable or a
 * script (by the member's name, or by the magic bytes of its first bytes)?
 *
 * Everything is bounded by struct arc_limits: entries looked at, uncompressed bytes
 * read (all depths together), nesting depth, the bytes of one nested archive held in
 * memory, and the ratio of declared uncompressed to compressed bytes (decompression
 * bombs). A member's data is read only as far as its first bytes unless it is itself
 * an archive to look into. Encrypted members are judged by their names (their data is
 * never read). libarchive's own allocations are plain malloc (it takes no allocator);
 * the nested buffers are MEM_APP.
 */
#ifndef OTASUKE_SENSOR_DETECT_ARCHIVE_H
#define OTASUKE_SENSOR_DETECT_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARC_NAME_MAX 256  /* bytes of the member path kept ("inner.zip/x.exe") */
#define ARC_FORMAT_MAX 48 /* bytes of libarchive's format name kept */

struct arc_limits {
    uint64_t max_bytes;   /* uncompressed bytes read in all */
    uint32_t max_members; /* entries looked at in all */
    uint32_t max_depth;   /* archives looked into: 1 = the outer one only */
    uint32_t max_ratio;   /* declared uncompressed / archive bytes (0: no check) */
    size_t max_nested;    /* bytes of one nested archive held in memory */
};

enum arc_why { ARC_WHY_NONE = 0, ARC_WHY_NAME, ARC_WHY_MAGIC };

struct arc_result {
    bool opened;        /* libarchive read at least one entry */
    bool exe;           /* an executable or script member was found */
    bool exe_encrypted; /* ... and its data is encrypted */
    bool encrypted;     /* some member (or the archive's headers) is encrypted */
    bool error;         /* libarchive stopped on bad or truncated data */
    bool cap_members, cap_bytes, cap_depth, bomb; /* the limit that stopped the look */
    uint8_t why;        /* enum arc_why of the exe member */
    uint32_t depth;     /* of the exe member: 1 = in the outer archive */
    uint32_t members;   /* entries looked at */
    uint64_t bytes;     /* uncompressed bytes read */
    uint64_t declared;  /* uncompressed sizes the headers declared */
    char format[ARC_FORMAT_MAX]; /* the outer archive's format ("ZIP 2.0 (deflation)") */
    char member[ARC_NAME_MAX];   /* the exe member's path, nested ones as "a.zip/b.exe" */
};

/* True when p[0..n) starts like an archive or compressed stream this module reads
 * (magic bytes only: zip, 7z, rar, gzip, bzip2, xz, zstd, cab, lha, tar, cpio). */
bool arc_is_archive(const uint8_t *p, size_t n);

/* True when the name's last extension is an executable's or a script's (exe scr com
 * pif bat cmd vbs vbe js jse wsf wsh hta lnk ps1 msi jar cpl dll iso img), any case. */
bool arc_exe_name(const char *name, size_t n);

/* True when the first bytes p[0..n) are an executable's: MZ (DOS/PE), ELF (not a
 * shared library named *.so*), a Windows shortcut (.lnk header). */
bool arc_exe_magic(const uint8_t *p, size_t n, const char *name);

/* Looks into the archive p[0..n) (borrowed) under lim and fills *out (zeroed first).
 * outer_name (may be NULL) names the file, for the member of a bare compressed stream
 * ("x.exe.gz" holds "x.exe"). Never fails: a bad archive gives out->error. */
void arc_inspect(const uint8_t *p, size_t n, const char *outer_name, const struct arc_limits *lim,
                 struct arc_result *out);

#endif
