/*
 * log.c - log sinks. See log.h.
 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <pthread.h>

static enum log_level g_level = SMBF_LOG_WARN;
static enum log_sink g_sink = LOG_SINK_STDERR;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

void log_init(enum log_level level, enum log_sink sink, const char *ident)
{
	g_level = level;
	g_sink = sink;
	if (sink == LOG_SINK_SYSLOG)
		openlog(ident ? ident : "smbfuse", LOG_PID, LOG_DAEMON);
}

void log_set_level(enum log_level level)
{
	__atomic_store_n(&g_level, level, __ATOMIC_RELAXED);
}

enum log_level log_get_level(void)
{
	return __atomic_load_n(&g_level, __ATOMIC_RELAXED);
}

int log_enabled(enum log_level level)
{
	return level <= log_get_level();
}

static int syslog_prio(enum log_level level)
{
	switch (level) {
	case SMBF_LOG_ERR:
		return LOG_ERR;
	case SMBF_LOG_WARN:
		return LOG_WARNING;
	case SMBF_LOG_INFO:
		return LOG_INFO;
	default:
		return LOG_DEBUG;
	}
}

static const char *level_name(enum log_level level)
{
	static const char *const names[] = {"error", "warning", "info", "debug", "trace"};
	return level <= SMBF_LOG_TRACE ? names[level] : "?";
}

void log_vmsg(enum log_level level, const char *func, int rc, const char *fmt, va_list ap)
{
	char msg[1024];
	char ebuf[128];
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	if (rc < 0 && (size_t)n < sizeof(msg)) {
		const char *etxt = strerror_r(-rc, ebuf, sizeof(ebuf));
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", etxt);
	}
	if (g_sink == LOG_SINK_SYSLOG) {
		if (level >= SMBF_LOG_DBG)
			syslog(syslog_prio(level), "%s: %s", func, msg);
		else
			syslog(syslog_prio(level), "%s", msg);
		return;
	}
	pthread_mutex_lock(&g_lock);
	if (level >= SMBF_LOG_DBG)
		fprintf(stderr, "smbfuse: %s: %s: %s\n", level_name(level), func, msg);
	else if (level == SMBF_LOG_INFO)
		fprintf(stderr, "smbfuse: %s\n", msg);
	else
		fprintf(stderr, "smbfuse: %s: %s\n", level_name(level), msg);
	pthread_mutex_unlock(&g_lock);
}

void log_msg(enum log_level level, const char *func, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, func, rc, fmt, ap);
	va_end(ap);
}
