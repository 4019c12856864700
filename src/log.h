/*
 * log.h - leveled logging for smbfuse.
 *
 * Every macro captures __func__. The sink is stderr (foreground) or syslog
 * (daemon). The _rc variants append the text of a negative errno.
 *
 * Never pass secrets (passwords, hashes, keys, tickets, NTLM/SPNEGO blobs)
 * to these macros, at any level. File paths only at LOG_DBG and below.
 */
#ifndef SMBF_LOG_H
#define SMBF_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level {
	SMBF_LOG_ERR = 0,
	SMBF_LOG_WARN = 1,
	SMBF_LOG_INFO = 2,
	SMBF_LOG_DBG = 3,
	SMBF_LOG_TRACE = 4,
};

enum log_sink {
	LOG_SINK_STDERR,
	LOG_SINK_SYSLOG,
};

/* Set the threshold and sink. Thread-safe to call before threads start. */
void log_init(enum log_level level, enum log_sink sink, const char *ident);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
int log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *func, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void log_vmsg(enum log_level level, const char *func, int rc, const char *fmt, va_list ap);

#define LOG_AT(lvl, rc, ...)                                                                       \
	do {                                                                                       \
		if (log_enabled(lvl))                                                              \
			log_msg(lvl, __func__, rc, __VA_ARGS__);                                   \
	} while (0)

#define LOG_ERR(...) LOG_AT(SMBF_LOG_ERR, 0, __VA_ARGS__)
#define LOG_WARN(...) LOG_AT(SMBF_LOG_WARN, 0, __VA_ARGS__)
#define LOG_INFO(...) LOG_AT(SMBF_LOG_INFO, 0, __VA_ARGS__)
#define LOG_DBG(...) LOG_AT(SMBF_LOG_DBG, 0, __VA_ARGS__)
#define LOG_TRACE(...) LOG_AT(SMBF_LOG_TRACE, 0, __VA_ARGS__)
/* rc is a negative errno; its text is appended. */
#define LOG_ERR_rc(rc, ...) LOG_AT(SMBF_LOG_ERR, rc, __VA_ARGS__)
#define LOG_WARN_rc(rc, ...) LOG_AT(SMBF_LOG_WARN, rc, __VA_ARGS__)
#define LOG_INFO_rc(rc, ...) LOG_AT(SMBF_LOG_INFO, rc, __VA_ARGS__)
#define LOG_DBG_rc(rc, ...) LOG_AT(SMBF_LOG_DBG, rc, __VA_ARGS__)

#endif
