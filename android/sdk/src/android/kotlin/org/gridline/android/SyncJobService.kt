package org.gridline.android

import android.app.job.JobInfo
import android.app.job.JobParameters
import android.app.job.JobScheduler
import android.app.job.JobService
import android.content.ComponentName
import android.content.Context
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import org.gridline.sdk.Gridline

/**
 * Background sync with the framework's JobScheduler (the Gradle app uses WorkManager; this is
 * the dependency-free variant). It runs one sync when the network is up and, if the run ended
 * on network trouble, schedules the next one at the core's `nextRetryAtMs`.
 *
 * The app supplies the open [Gridline] through [GridlineProvider] on its `Application`.
 */
class SyncJobService : JobService() {
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.IO)
    private var running: Job? = null

    /** Implemented by the app's `Application` to hand out its [Gridline] instance. */
    interface GridlineProvider {
        /** The app's open Gridline, with its server set. */
        fun gridline(): Gridline
    }

    override fun onStartJob(params: JobParameters): Boolean {
        val gridline = (application as? GridlineProvider)?.gridline() ?: return false
        running = scope.launch {
            val retryAt = try {
                val summary = gridline.syncNow()
                summary.nextRetryAtMs
            } catch (e: Exception) {
                gridline.nextRetryAtMs()
            }
            retryAt?.let { schedule(applicationContext, it - System.currentTimeMillis()) }
            jobFinished(params, false)
        }
        return true
    }

    override fun onStopJob(params: JobParameters): Boolean {
        // Cancelling the coroutine cancels the sync Flow, which stops the run at a safe point.
        running?.cancel()
        return true
    }

    override fun onDestroy() {
        scope.cancel()
        super.onDestroy()
    }

    companion object {
        private const val JOB_ID = 0x6717

        /** Schedules a sync in at least [delayMs] milliseconds, when any network is available. */
        fun schedule(context: Context, delayMs: Long = 0) {
            val job = JobInfo.Builder(JOB_ID, ComponentName(context, SyncJobService::class.java))
                .setRequiredNetworkType(JobInfo.NETWORK_TYPE_ANY)
                .setMinimumLatency(delayMs.coerceAtLeast(0))
                .setPersisted(true)
                .build()
            context.getSystemService(JobScheduler::class.java)?.schedule(job)
        }
    }
}
