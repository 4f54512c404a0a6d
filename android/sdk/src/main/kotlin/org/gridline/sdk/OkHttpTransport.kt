package org.gridline.sdk

import java.io.IOException
import java.io.InterruptedIOException
import java.net.SocketTimeoutException
import java.util.concurrent.TimeUnit
import java.util.concurrent.ConcurrentHashMap
import okhttp3.Call
import okhttp3.MediaType.Companion.toMediaTypeOrNull
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.RequestBody.Companion.toRequestBody
import org.gridline.ffi.HttpRequest
import org.gridline.ffi.HttpResponse
import org.gridline.ffi.HttpTransport
import org.gridline.ffi.TransportException

/**
 * Carries Gridline's requests over the app's own [OkHttpClient], so its interceptors, proxy
 * and certificate pinning apply. OkHttp's own retries are switched off on a derived client:
 * the sync engine decides what to retry and when.
 */
class OkHttpTransport(client: OkHttpClient) : HttpTransport {
    private val base = client.newBuilder().retryOnConnectionFailure(false).followRedirects(false).build()
    private val inFlight: MutableSet<Call> = ConcurrentHashMap.newKeySet()

    /** Cancels the requests under way (a cancelled sync calls this); they fail as `Connection`. */
    fun cancelInFlight() {
        inFlight.forEach { it.cancel() }
    }

    /**
     * Reads at most one byte past [max] of the (already gunzipped) body, whatever its
     * Content-Length says: the core refuses a longer answer, and memory stays bounded even
     * against a gzip bomb.
     */
    private fun readCapped(body: okhttp3.ResponseBody?, max: Long): ByteArray {
        if (body == null) return ByteArray(0)
        val limit = if (max < Long.MAX_VALUE) max + 1 else max
        val source = body.source()
        val out = okio.Buffer()
        while (out.size < limit) {
            val n = source.read(out, minOf(8192L, limit - out.size))
            if (n == -1L) break
        }
        return out.readByteArray()
    }

    override fun send(request: HttpRequest): HttpResponse {
        val http = base.newBuilder().callTimeout(request.timeoutMs.coerceAtLeast(1), TimeUnit.MILLISECONDS).build()
        val contentType = request.headers["content-type"]?.toMediaTypeOrNull()
        val body = when {
            request.method == "GET" || request.method == "HEAD" -> null
            else -> request.body.toRequestBody(contentType)
        }
        val call = try {
            val builder = Request.Builder().url(request.url).method(request.method, body)
            // OkHttp adds gzip transparently only if the app did not ask for an encoding itself.
            request.headers.filterKeys { it != "content-type" }.forEach { (k, v) -> builder.header(k, v) }
            http.newCall(builder.build())
        } catch (e: IllegalArgumentException) {
            throw TransportException.Refused(e.message ?: "bad request")
        }
        inFlight += call
        try {
            call.execute().use { response ->
                val headers = response.headers.names().associateWith { response.header(it).orEmpty() }
                    .mapKeys { it.key.lowercase() }
                return HttpResponse(response.code, headers, readCapped(response.body, request.maxResponseBytes))
            }
        } catch (e: SocketTimeoutException) {
            throw TransportException.Timeout(e.message ?: "timed out")
        } catch (e: InterruptedIOException) {
            // OkHttp's call timeout; a cancelled call is an IOException("Canceled") below.
            throw TransportException.Timeout(e.message ?: "timed out")
        } catch (e: IllegalArgumentException) {
            throw TransportException.Refused(e.message ?: "bad request")
        } catch (e: IOException) {
            throw TransportException.Connection(e.message ?: e.javaClass.simpleName)
        } finally {
            inFlight -= call
        }
    }
}
