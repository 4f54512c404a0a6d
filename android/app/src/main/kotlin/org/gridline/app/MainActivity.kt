package org.gridline.app

import android.Manifest
import android.os.Bundle
import android.widget.ArrayAdapter
import android.widget.Button
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.ListView
import android.widget.Spinner
import android.widget.TextView
import androidx.appcompat.app.AppCompatActivity
import androidx.core.content.FileProvider
import android.location.Location
import android.location.LocationManager
import android.os.CancellationSignal
import androidx.core.content.ContextCompat
import androidx.core.location.LocationManagerCompat
import androidx.lifecycle.lifecycleScope
import kotlin.coroutines.resume
import kotlinx.coroutines.launch
import kotlinx.coroutines.suspendCancellableCoroutine
import org.gridline.android.CameraPhoto
import org.gridline.android.LocationAdapter
import org.gridline.protocol.AttrValue
import org.gridline.protocol.CoordSystem
import org.gridline.sdk.DraftPatch
import org.gridline.sdk.GridlineException
import org.gridline.sdk.ReportKind
import org.gridline.sdk.ValidationException

/**
 * Three screens in one, kept deliberately plain: file a pothole report (location + photo),
 * the queue with its states, and (for supervisors) the worklist.
 */
class MainActivity : AppCompatActivity() {
    private val gridline get() = (application as GridlineApp).gridline()
    private var photo: CameraPhoto? = null
    private lateinit var status: TextView
    private lateinit var list: ListView

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        requestPermissions(arrayOf(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.CAMERA), 1)
        val note = EditText(this).apply { hint = "What did you see?" }
        val size = Spinner(this).apply { adapter = ArrayAdapter(context, android.R.layout.simple_spinner_item, listOf("small", "medium", "large")) }
        status = TextView(this)
        list = ListView(this)
        val takePhoto = Button(this).apply { text = "Photo"; setOnClickListener { shoot() } }
        val submit = Button(this).apply { text = "Submit"; setOnClickListener { submit(note.text.toString(), size.selectedItem as String) } }
        val queue = Button(this).apply { text = "Queue"; setOnClickListener { showQueue() } }
        val worklist = Button(this).apply { text = "Worklist"; setOnClickListener { showWorklist() } }
        setContentView(LinearLayout(this).apply {
            orientation = LinearLayout.VERTICAL
            listOf(note, size, takePhoto, submit, queue, worklist, status, list).forEach { addView(it) }
        })
    }

    private fun shoot() {
        val file = filesDir.resolve("camera").apply { mkdirs() }.resolve("shot-${System.currentTimeMillis()}.jpg")
        val uri = FileProvider.getUriForFile(this, "$packageName.photos", file)
        photo = CameraPhoto(file, uri).also { startActivityForResult(it.intent(), 7) }
    }

    @Deprecated("Kept simple for the sample")
    override fun onActivityResult(requestCode: Int, resultCode: Int, data: android.content.Intent?) {
        super.onActivityResult(requestCode, resultCode, data)
        if (requestCode == 7 && photo?.captured(resultCode) != true) {
            photo?.discard()
            photo = null
        }
    }

    /**
     * One fresh fix from the platform's LocationManager: no Google Play services needed (most
     * mainland phones have none). Its coordinates are WGS-84; a fix from AMap or Tencent's SDK
     * would be passed as `LocationAdapter.toFix(it, CoordSystem.GCJ02)`.
     */
    private suspend fun currentLocation(): Location? = suspendCancellableCoroutine { cont ->
        val manager = getSystemService(LocationManager::class.java)
        val provider = if (LocationManagerCompat.hasProvider(manager, LocationManager.GPS_PROVIDER)) LocationManager.GPS_PROVIDER else LocationManager.NETWORK_PROVIDER
        val cancel = CancellationSignal()
        cont.invokeOnCancellation { cancel.cancel() }
        try {
            LocationManagerCompat.getCurrentLocation(manager, provider, cancel, ContextCompat.getMainExecutor(this)) { cont.resume(it) }
        } catch (e: SecurityException) {
            cont.resume(null) // permission refused: the draft is saved without a location
        }
    }

    private fun submit(note: String, size: String) = lifecycleScope.launch {
        try {
            val location = currentLocation()
            val draft = gridline.createDraft(ReportKind.ROAD_DAMAGE)
            gridline.updateDraft(
                draft.id,
                DraftPatch(
                    category = "pothole",
                    note = note,
                    location = location?.let { LocationAdapter.toFix(it, CoordSystem.WGS84) },
                    setAttributes = mapOf("size" to AttrValue.Text(size)),
                ),
            )
            // The core keeps a stripped copy; the raw capture is deleted either way.
            photo?.also { photo = null }?.attachTo(gridline, draft.id)
            val report = gridline.submit(draft.id)
            status.text = "Saved offline: ${report.id}" + report.locationWarnings.joinToString(prefix = " ", separator = ", ")
            photo = null
            GridlineApp.scheduleSync(application, 0)
        } catch (e: ValidationException) {
            status.text = "Please fix ${e.field}: ${e.reason}"
        } catch (e: GridlineException) {
            status.text = e.message
        }
    }

    private fun showQueue() = lifecycleScope.launch {
        val rows = gridline.list().map { "${it.state} ${it.category} ${it.ticketStatus ?: ""} ${it.note}" }
        list.adapter = ArrayAdapter(this@MainActivity, android.R.layout.simple_list_item_1, rows)
    }

    private fun showWorklist() = lifecycleScope.launch {
        try {
            gridline.refreshWorklist()
        } catch (e: GridlineException) {
            status.text = "Offline worklist: ${e.message}"
        }
        val rows = gridline.worklist().map { "${it.status} ${it.gridId ?: "-"} ${it.category} ${it.note}" }
        list.adapter = ArrayAdapter(this@MainActivity, android.R.layout.simple_list_item_1, rows)
    }
}
