package org.gridline.sdk

import org.gridline.core.LogLevel
import org.gridline.core.LogSink
import org.gridline.core.setLogSink

/** Receives the core's log lines; route them to Logcat, Timber or the app's logger. */
fun interface GridlineLogger {
    /** One line from [target] (a Rust module path) at [level]. */
    fun log(level: LogLevel, target: String, message: String)
}

/** Process-wide logging of the native core. */
object GridlineLogging {
    /**
     * Sends the core's lines at [level] and above to [logger], replacing any earlier one.
     * A logger that throws loses that line and nothing else: the core goes on.
     */
    fun install(logger: GridlineLogger, level: LogLevel = LogLevel.INFO) {
        setLogSink(
            object : LogSink {
                override fun log(level: LogLevel, target: String, message: String) {
                    try {
                        logger.log(level, target, message)
                    } catch (_: Throwable) {
                        // Never throw into the core's thread.
                    }
                }
            },
            level,
        )
    }
}
