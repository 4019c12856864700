/*
 * time.c - FILETIME <-> struct timespec. See time.h.
 */
#include "wire/time.h"

enum {
	FT_PER_SEC = 10000000,
	NS_PER_FT = 100,
};

void filetime_to_timespec(uint64_t ft, struct timespec *ts)
{
	int64_t t, sec, rem;

	if (ft == 0) {
		ts->tv_sec = 0;
		ts->tv_nsec = 0;
		return;
	}
	if (ft > (uint64_t)INT64_MAX)
		ft = (uint64_t)INT64_MAX;
	t = (int64_t)ft - (int64_t)FILETIME_UNIX_EPOCH;
	sec = t / FT_PER_SEC;
	rem = t % FT_PER_SEC;
	if (rem < 0) {
		rem += FT_PER_SEC;
		sec--;
	}
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = (long)(rem * NS_PER_FT);
}

uint64_t timespec_to_filetime(const struct timespec *ts)
{
	/* Largest/smallest tv_sec whose FILETIME fits in (0, INT64_MAX]. */
	const int64_t max_sec = (INT64_MAX - (int64_t)FILETIME_UNIX_EPOCH) / FT_PER_SEC - 1;
	const int64_t min_sec = -(int64_t)(FILETIME_UNIX_EPOCH / FT_PER_SEC);
	int64_t sec = (int64_t)ts->tv_sec;
	int64_t nsec = ts->tv_nsec;
	int64_t ft;

	if (nsec < 0 || nsec >= 1000000000)
		nsec = 0;
	if (sec > max_sec)
		return (uint64_t)INT64_MAX;
	if (sec < min_sec)
		return 1;
	ft = sec * FT_PER_SEC + (int64_t)FILETIME_UNIX_EPOCH + nsec / NS_PER_FT;
	return ft <= 0 ? 1 : (uint64_t)ft;
}
