package org.gridline.app

import android.app.Application
import androidx.work.Constraints
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.WorkManager
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.runBlocking
import org.gridline.android.SyncJobService
import org.gridline.sdk.Gridline

/** Holds the one Gridline instance of the app and schedules background sync. */
class GridlineApp : Application(), SyncJobService.GridlineProvider {
    private lateinit var instance: Gridline

    override fun onCreate() {
        super.onCreate()
        // Opening is quick (one SQLite file); a real app would do it lazily off the main thread.
        instance = runBlocking {
            Gridline.open(filesDir.resolve("gridline.db").path, reporter = "rider-demo", appVersion = BuildConfig.VERSION_NAME)
                .also { it.setServer(BuildConfig.GRID_SERVER, { refresh -> Session.token(refresh) }) }
        }
        scheduleSync(this, 0)
    }

    override fun gridline(): Gridline = instance

    companion object {
        /**
         * Enqueues a sync when the network is up, no earlier than [delayMs] from now. `APPEND_OR_REPLACE`:
         * a sync already enqueued or running is never cancelled by a new submit; the new one runs
         * after it (and finds nothing to do if the first sent everything).
         */
        fun scheduleSync(app: Application, delayMs: Long) {
            val request = OneTimeWorkRequestBuilder<SyncWorker>()
                .setConstraints(Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build())
                .setInitialDelay(delayMs.coerceAtLeast(0), TimeUnit.MILLISECONDS)
                .build()
            WorkManager.getInstance(app).enqueueUniqueWork("gridline-sync", ExistingWorkPolicy.APPEND_OR_REPLACE, request)
        }
    }
}

/** Stand-in for the host app's login: where the bearer token comes from. */
object Session {
    /** The current token (a real app refreshes it with its auth server when [refresh] is true). */
    fun token(@Suppress("UNUSED_PARAMETER") refresh: Boolean): String = "glt_replace_with_your_login"
}
