package org.gridline.sdk

import java.io.File
import java.nio.file.Files
import java.util.concurrent.TimeUnit

/**
 * The real reference grid server (`gridline serve`), started on a free loopback port in a temp
 * data folder. The `gridline` binary comes from the system property `gridline.binary`.
 */
class TestServer : AutoCloseable {
    val dataDir: File = Files.createTempDirectory("gridline-server").toFile()
    private val binary = System.getProperty("gridline.binary") ?: error("system property gridline.binary is not set")
    private var process: Process? = null

    /** `http://127.0.0.1:PORT` once [start]ed. */
    lateinit var url: String
        private set

    private fun run(vararg args: String): String {
        val p = ProcessBuilder(binary, *args).redirectErrorStream(false).start()
        val out = p.inputStream.bufferedReader().readText()
        val err = p.errorStream.bufferedReader().readText()
        check(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0) { "gridline ${args.joinToString(" ")} failed: $err" }
        return out
    }

    /** Replaces the grids with a GeoJSON FeatureCollection. */
    fun importGrids(geojson: String) {
        val file = File(dataDir, "grids.geojson").apply { writeText(geojson) }
        run("server", "import-grids", "--data", dataDir.path, file.path)
    }

    /** Creates a user and returns their bearer token. */
    fun addUser(name: String, role: String, vararg grids: String): String {
        val args = mutableListOf("server", "add-user", "--data", dataDir.path, "--name", name, "--role", role, "--json")
        grids.forEach { args += listOf("--grid", it) }
        val json = run(*args.toTypedArray())
        return Regex("\"token\"\\s*:\\s*\"([^\"]+)\"").find(json)?.groupValues?.get(1) ?: error("no token in $json")
    }

    /** Starts serving; returns when the server printed its address. */
    fun start(): TestServer {
        val p = ProcessBuilder(binary, "serve", "--data", dataDir.path, "--listen", "127.0.0.1:0")
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start()
        process = p
        val line = p.inputStream.bufferedReader().readLine() ?: error("server exited before listening")
        url = Regex("(http://\\S+)").find(line)?.groupValues?.get(1) ?: error("no address in: $line")
        return this
    }

    override fun close() {
        process?.let {
            it.destroy()
            it.waitFor(10, TimeUnit.SECONDS)
        }
        dataDir.deleteRecursively()
    }

    companion object {
        /** One grid around Haishu, Ningbo (lon 121.52..121.58, lat 29.85..29.89). */
        const val GRID = """{"type":"FeatureCollection","features":[{"type":"Feature","id":"HS-01",
            "properties":{"name":"Haishu"},"geometry":{"type":"Polygon","coordinates":[[[121.52,29.85],
            [121.58,29.85],[121.58,29.89],[121.52,29.89],[121.52,29.85]]]}}]}"""
    }
}
