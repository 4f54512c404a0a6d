package org.gridline.android

import android.app.Activity
import android.content.Intent
import android.net.Uri
import android.provider.MediaStore
import java.io.File

/**
 * Takes an evidence photo with the system camera into a file the app owns, then hands the file
 * path to the core (`Gridline.attachPhoto`), which strips every metadata byte.
 *
 * [outputUri] must be a content URI for [file] that the camera may write (the Gradle app uses
 * androidx FileProvider for it; that class is not on this build's classpath).
 */
class CameraPhoto(private val file: File, private val outputUri: Uri) {
    /** The intent to start with `startActivityForResult(intent, requestCode)`. */
    fun intent(): Intent = Intent(MediaStore.ACTION_IMAGE_CAPTURE)
        .putExtra(MediaStore.EXTRA_OUTPUT, outputUri)
        .addFlags(Intent.FLAG_GRANT_WRITE_URI_PERMISSION)

    /** The path to attach once the camera returned [resultCode], or `null` when nothing was taken. */
    fun pathFor(resultCode: Int): String? =
        file.path.takeIf { resultCode == Activity.RESULT_OK && file.isFile && file.length() > 0 }
}
