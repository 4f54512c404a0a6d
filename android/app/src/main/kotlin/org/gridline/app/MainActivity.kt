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
import androidx.lifecycle.lifecycleScope
import com.google.android.gms.location.LocationServices
import com.google.android.gms.location.Priority
import kotlinx.coroutines.launch
import kotlinx.coroutines.tasks.await
import org.gridline.android.CameraPhoto
import org.gridline.android.LocationAdapter
import org.gridline.ffi.AttrValue
import org.gridline.ffi.DraftPatch
import org.gridline.ffi.GridlineException
import org.gridline.ffi.ReportKind

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
        if (requestCode == 7 && photo?.pathFor(resultCode) == null) photo = null
    }

    private fun submit(note: String, size: String) = lifecycleScope.launch {
        try {
            val location = LocationServices.getFusedLocationProviderClient(this@MainActivity)
                .getCurrentLocation(Priority.PRIORITY_HIGH_ACCURACY, null).await()
            val draft = gridline.createDraft(ReportKind.ROAD_DAMAGE)
            gridline.updateDraft(
                draft.id,
                DraftPatch(null, "pothole", note, null, location?.let(LocationAdapter::toFix), mapOf("size" to AttrValue.Text(size)), emptyList(), null),
            )
            photo?.pathFor(RESULT_OK)?.let { gridline.attachPhoto(draft.id, it) }
            val report = gridline.submit(draft.id)
            status.text = "Saved offline: ${report.id}" + report.locationWarnings.joinToString(prefix = " ", separator = ", ")
            photo = null
            GridlineApp.scheduleSync(application, 0)
        } catch (e: GridlineException.Validation) {
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
