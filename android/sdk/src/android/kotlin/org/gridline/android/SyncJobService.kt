package org.gridline.android

import android.app.job.JobInfo
import android.app.job.JobParameters
import android.app.job.JobScheduler
import android.app.job.JobService
import android.content.ComponentName
import android.content.Context
import android.content.pm.PackageManager
import kotlin.coroutines.cancellation.CancellationException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import org.gridline.sdk.AuthException
import org.gridline.sdk.BusyException
import org.gridline.sdk.ClosedException
import org.gridline.sdk.Gridline
import org.gridline.sdk.GridlineException

/**
 * Background sync with the framework's JobScheduler (no AndroidX needed). Declared in the SDK's
 * manifest with `BIND_JOB_SERVICE`; merged into the app's. It runs one sync when a network is
 * up and, if the run ended on network trouble, schedules the next one at the core's
 * `nextRetryAt`. A sync already running on the database (the app's pull-to-refresh) makes
 * this run end quietly: that run schedules what is left.
 *
 * The app supplies the open [Gridline] through [GridlineProvider] on its `Application`. The job
 * id defaults to [DEFAULT_JOB_ID]; an app whose own jobs use that id sets another with
 * `<meta-data android:name="org.gridline.sync.JOB_ID" android:value="1234"/>` in `<application>`.
 */
class SyncJobService : JobService() {
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.IO)
    @Volatile private var running: Job? = null

    /** Implemented by the app's `Application` to hand out its [Gridline] instance. */
    interface GridlineProvider {
        /** The app's open Gridline, with its server set. */
        fun gridline(): Gridline
    }

    override fun onStartJob(params: JobParameters): Boolean {
        val gridline = (application as? GridlineProvider)?.gridline() ?: return false
        running = scope.launch {
            var nextAtMs: Long? = null
            var backoff = false
            try {
                nextAtMs = gridline.syncNow().nextRetryAt
            } catch (e: CancellationException) {
                throw e // onStopJob asked us to stop; returning true there reschedules
            } catch (e: BusyException) {
                // Another sync runs on the database; it leaves its own retry time.
            } catch (e: AuthException) {
                // The user must sign in again; the reports stay queued.
            } catch (e: ClosedException) {
                // The app closed Gridline (sign-out).
            } catch (e: GridlineException) {
                nextAtMs = runCatching { gridline.nextRetryAt() }.getOrNull()
                backoff = nextAtMs == null
            }
            // Finish first: scheduling this job's id while it runs would stop it.
            jobFinished(params, backoff)
            nextAtMs?.let { schedule(applicationContext, it - System.currentTimeMillis()) }
        }
        return true
    }

    override fun onStopJob(params: JobParameters): Boolean {
        // Cancelling the coroutine cancels the sync Flow, which stops the native run.
        running?.cancel()
        return true // run again later: the queue is still there
    }

    override fun onDestroy() {
        scope.cancel()
        super.onDestroy()
    }

    companion object {
        /** The job id used when the app's manifest sets none. */
        const val DEFAULT_JOB_ID = 0x6717_0001

        /** The manifest meta-data key that overrides the job id. */
        const val JOB_ID_KEY = "org.gridline.sync.JOB_ID"

        /** The job id: the app's `org.gridline.sync.JOB_ID` meta-data, else [DEFAULT_JOB_ID]. */
        fun jobId(context: Context): Int {
            val info = context.packageManager.getApplicationInfo(context.packageName, PackageManager.GET_META_DATA)
            return info.metaData?.getInt(JOB_ID_KEY, DEFAULT_JOB_ID) ?: DEFAULT_JOB_ID
        }

        /**
         * Schedules a sync in at least [delayMs] milliseconds when any network is available,
         * replacing a pending one with the same id. Persisted across reboots.
         */
        fun schedule(context: Context, delayMs: Long = 0, jobId: Int = jobId(context)) {
            val job = JobInfo.Builder(jobId, ComponentName(context, SyncJobService::class.java))
                .setRequiredNetworkType(JobInfo.NETWORK_TYPE_ANY)
                .setMinimumLatency(delayMs.coerceAtLeast(0))
                .setBackoffCriteria(30_000, JobInfo.BACKOFF_POLICY_EXPONENTIAL)
                .setPersisted(true)
                .build()
            context.getSystemService(JobScheduler::class.java)?.schedule(job)
        }

        /** Cancels the scheduled sync (at sign-out, before [Gridline.wipe]). */
        fun cancel(context: Context, jobId: Int = jobId(context)) {
            context.getSystemService(JobScheduler::class.java)?.cancel(jobId)
        }
    }
}
