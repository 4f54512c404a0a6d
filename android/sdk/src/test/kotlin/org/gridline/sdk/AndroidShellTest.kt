package org.gridline.sdk

import java.io.File
import javax.xml.parsers.DocumentBuilderFactory
import kotlinx.coroutines.runBlocking
import org.gridline.android.CameraPhoto
import org.gridline.android.LocationAdapter
import org.gridline.protocol.CoordSystem
import org.gridline.ffi.Coordinates
import org.gridline.ffi.convertCoordinates
import org.w3c.dom.Element
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir

/**
 * What the Android shell ships, checked on the JVM: the manifest and R8 rules merged into the
 * app, the location adapter's coordinate systems and the camera flow's clean-up (both run here
 * against the real library; only the Android-typed entry points need a device).
 */
class AndroidShellTest {
    @TempDir
    lateinit var dir: File

    private val ns = "http://schemas.android.com/apk/res/android"

    private fun manifest(): Element {
        val factory = DocumentBuilderFactory.newInstance().apply { isNamespaceAware = true }
        return factory.newDocumentBuilder().parse(File("src/main/AndroidManifest.xml")).documentElement
    }

    private fun Element.children(tag: String): List<Element> =
        (0 until getElementsByTagName(tag).length).map { getElementsByTagName(tag).item(it) as Element }

    @Test
    fun `the manifest declares the job service, bound only by the system, and its permissions`() {
        val root = manifest()
        val permissions = root.children("uses-permission").map { it.getAttributeNS(ns, "name") }.toSet()
        for (needed in listOf("INTERNET", "ACCESS_NETWORK_STATE", "RECEIVE_BOOT_COMPLETED")) {
            assertTrue("android.permission.$needed" in permissions, "missing $needed: $permissions")
        }
        val service = root.children("service").single { it.getAttributeNS(ns, "name") == "org.gridline.android.SyncJobService" }
        assertEquals("android.permission.BIND_JOB_SERVICE", service.getAttributeNS(ns, "permission"))
        assertEquals("false", service.getAttributeNS(ns, "exported"))
        // The class named there exists and is a JobService.
        val cls = Class.forName("org.gridline.android.SyncJobService")
        assertEquals("android.app.job.JobService", cls.superclass.name)
        assertEquals("org.gridline.sync.JOB_ID", cls.getField("JOB_ID_KEY").get(null))
    }

    @Test
    fun `the consumer rules keep what JNA and the bindings reach by reflection`() {
        val rules = File("consumer-rules.pro").readLines().map { it.trim() }.filter { !it.startsWith("#") }
        for (needed in listOf(
            "-keep class com.sun.jna.** { *; }",
            "-keep class org.gridline.ffi.** { *; }",
            "-keep class org.gridline.core.** { *; }",
            "-keep class org.gridline.protocol.** { *; }",
            "-keep class * implements org.gridline.ffi.** { *; }",
            "-keep class * implements org.gridline.core.** { *; }",
        )) {
            assertTrue(needed in rules, "consumer-rules.pro lacks `$needed`")
        }
    }

    @Test
    fun `the Gradle build adds the built native libraries and checks the AAR for each ABI`() {
        val gradle = File("build.gradle.kts").readText()
        assertTrue("jniLibs.srcDir(nativeLibs)" in gradle, "jniLibs points at the cargo-ndk output")
        assertTrue(Regex("""val abis = listOf\("arm64-v8a", "armeabi-v7a", "x86_64"\)""").containsMatchIn(gradle))
        assertTrue("jni/\$it/libgridline_ffi.so" in gradle && "checkAarJniLibs" in gradle)
        assertFalse("ExistingWorkPolicy.REPLACE" in File("../app/src/main/kotlin/org/gridline/app/GridlineApp.kt").readText())
        assertFalse("gms" in File("../app/build.gradle.kts").readText(), "the sample needs no Google Play services")
    }

    @Test
    fun `a GCJ-02 fix from AMap or Tencent is stored in WGS-84 with its source recorded`() {
        // Tianyi Square, Ningbo, as WGS-84; AMap would report it shifted to GCJ-02.
        val wgs = Coordinates(lon = 121.5503, lat = 29.8683)
        val gcj = convertCoordinates(wgs, CoordSystem.WGS84, CoordSystem.GCJ02)
        assertTrue(Math.abs(gcj.lon - wgs.lon) > 1e-4, "GCJ-02 differs in China")
        val fix = LocationAdapter.fix(lat = gcj.lat, lon = gcj.lon, accuracyM = 8.0, timeMs = 1_764_300_000_000, crs = CoordSystem.GCJ02)
        assertEquals(wgs.lat, fix.lat, 1e-9)
        assertEquals(wgs.lon, fix.lon, 1e-9)
        assertEquals(CoordSystem.GCJ02, fix.sourceCrs)
        val plain = LocationAdapter.fix(lat = wgs.lat, lon = wgs.lon, accuracyM = null, timeMs = 0, crs = CoordSystem.WGS84)
        assertEquals(LocationAdapter.UNKNOWN_ACCURACY_M, plain.accuracyM)
        assertEquals(wgs.lon, plain.lon)
        assertThrows<ValidationException> {
            LocationAdapter.fix(lat = 91.0, lon = 0.0, accuracyM = 5.0, timeMs = 0, crs = CoordSystem.GCJ02)
        }
    }

    @Test
    fun `the camera flow deletes the raw capture whether the photo is taken or refused`() = runBlocking {
        Gridline.open(File(dir, "cam.db").path, "rider-cam", "kotlin-test").use { g ->
            val id = g.createDraft(ReportKind.ROAD_DAMAGE).id
            val raw = File(dir, "capture.jpg")
            val image = java.awt.image.BufferedImage(64, 48, java.awt.image.BufferedImage.TYPE_INT_RGB)
            javax.imageio.ImageIO.write(image, "jpg", raw)
            val photo = CameraPhoto(raw, android.net.Uri.EMPTY).attachTo(g, id)
            assertFalse(raw.exists(), "raw capture deleted")
            assertTrue(File(g.photoPath(photo.sha256)).isFile, "the stripped copy is kept")

            val corrupt = File(dir, "broken.jpg").apply { writeBytes(ByteArray(2048) { it.toByte() }) }
            assertThrows<PhotoException> { runBlocking { CameraPhoto(corrupt, android.net.Uri.EMPTY).attachTo(g, id) } }
            assertFalse(corrupt.exists(), "a refused capture is deleted too")
        }
    }
}
