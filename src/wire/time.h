/*
 * time.h - FILETIME (MS-DTYP 2.3.3: 100 ns intervals since 1601-01-01 UTC)
 * <-> struct timespec.
 */
#ifndef SMBF_WIRE_TIME_H
#define SMBF_WIRE_TIME_H

#include <stdint.h>
#include <time.h>

/* 100 ns intervals between 1601-01-01 and 1970-01-01. */
#define FILETIME_UNIX_EPOCH UINT64_C(116444736000000000)

/*
 * FILETIME 0 ("unknown/not set") gives {0, 0}. Earlier-than-1970 times give
 * a negative tv_sec with tv_nsec in [0, 1e9). Values above INT64_MAX (not
 * valid FILETIMEs) are clamped to INT64_MAX.
 */
void filetime_to_timespec(uint64_t ft, struct timespec *ts);

/*
 * Never returns 0 (FILETIME_NO_CHANGE in SET_INFO) or UINT64_MAX: times at or
 * before 1601 clamp to 1, times past the FILETIME range clamp to INT64_MAX.
 * tv_nsec is expected in [0, 1e9); callers resolve UTIME_NOW/UTIME_OMIT
 * before calling (use FILETIME_NO_CHANGE for "omit").
 */
uint64_t timespec_to_filetime(const struct timespec *ts);

#endif
