/*
 * Levelled logging to stderr with a module tag.  The level is set once at
 * start-up (AGENTD_LOG or --log-level); messages below it cost one compare.
 */
#ifndef STREAM_LOG_H
#define STREAM_LOG_H

enum log_level {
    LOG_LVL_DEBUG = 0,
    LOG_LVL_INFO = 1,
    LOG_LVL_WARN = 2,
    LOG_LVL_ERROR = 3,
};

extern enum log_level log_threshold;

/* Parses "debug", "info", "warn" or "error"; returns 0 or -EINVAL. */
int log_parse_level(const char *s, enum log_level *ret_level);
void log_set_level(enum log_level level);
void log_write(enum log_level level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(tag, ...)                                                                        \
    do {                                                                                           \
        if (log_threshold <= LOG_LVL_DEBUG)                                                        \
            log_write(LOG_LVL_DEBUG, tag, __VA_ARGS__);                                            \
    } while (0)
#define log_info(tag, ...)  log_write(LOG_LVL_INFO, tag, __VA_ARGS__)
#define log_warn(tag, ...)  log_write(LOG_LVL_WARN, tag, __VA_ARGS__)
#define log_error(tag, ...) log_write(LOG_LVL_ERROR, tag, __VA_ARGS__)

#endif
