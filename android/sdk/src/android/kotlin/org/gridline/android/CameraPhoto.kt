package org.gridline.android

import android.app.Activity
import android.content.Intent
import android.net.Uri
import android.provider.MediaStore
import java.io.File
import org.gridline.core.PhotoRef
import org.gridline.sdk.Gridline

/**
 * Takes an evidence photo with the system camera into a file the app owns, hands it to the core
 * (which stores an upright, resized copy without any metadata) and deletes the raw capture, so
 * the original with its GPS and device tags never outlives the report.
 *
 * [outputUri] must be a content URI for [file] that the camera may write (the sample app uses
 * androidx FileProvider for it; that class is not on this build's classpath).
 */
class CameraPhoto(private val file: File, private val outputUri: Uri) {
    /** The intent to start with `startActivityForResult(intent, requestCode)` or an ActivityResult launcher. */
    fun intent(): Intent = Intent(MediaStore.ACTION_IMAGE_CAPTURE)
        .putExtra(MediaStore.EXTRA_OUTPUT, outputUri)
        .addFlags(Intent.FLAG_GRANT_WRITE_URI_PERMISSION)

    /** Whether the camera returned [resultCode] with a photo in the file. */
    fun captured(resultCode: Int): Boolean =
        resultCode == Activity.RESULT_OK && file.isFile && file.length() > 0

    /**
     * Attaches the capture to report [reportId] and deletes the raw file, whether the core took
     * it or refused it (a refused photo throws `PhotoException`; take another).
     */
    suspend fun attachTo(gridline: Gridline, reportId: String): PhotoRef =
        try {
            gridline.attachPhoto(reportId, file.path)
        } finally {
            discard()
        }

    /** Deletes the raw capture (the rider cancelled, or the draft was dropped). */
    fun discard() {
        file.delete()
    }
}
