package org.gridline.app

import android.content.Context
import androidx.work.CoroutineWorker
import androidx.work.WorkerParameters
import org.gridline.sdk.AuthException
import org.gridline.sdk.BusyException

/** WorkManager job: one sync; if it ended on network trouble, the next one at `nextRetryAt`. */
class SyncWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    override suspend fun doWork(): Result {
        val app = applicationContext as GridlineApp
        val gridline = app.gridline()
        return try {
            val summary = gridline.syncNow()
            summary.nextRetryAt?.let { GridlineApp.scheduleSync(app, it - System.currentTimeMillis()) }
            Result.success()
        } catch (e: AuthException) {
            Result.failure() // the user must sign in again; the reports stay queued
        } catch (e: BusyException) {
            Result.success() // the app's own sync is running and leaves its retry time
        }
    }
}
