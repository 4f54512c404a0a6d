package org.gridline.sdk

import java.io.IOException
import java.io.InterruptedIOException
import java.net.SocketTimeoutException
import java.util.concurrent.TimeUnit
import kotlin.coroutines.resume
import kotlin.coroutines.resumeWithException
import kotlinx.coroutines.suspendCancellableCoroutine
import okhttp3.Call
import okhttp3.Callback
import okhttp3.MediaType.Companion.toMediaTypeOrNull
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.RequestBody.Companion.toRequestBody
import okhttp3.Response
import org.gridline.core.HttpRequest
import org.gridline.core.HttpResponse
import org.gridline.core.HttpTransport
import org.gridline.core.TransportException

/**
 * Carries Gridline's requests over the app's own [OkHttpClient], so its interceptors, proxy
 * and certificate pinning apply. OkHttp's own retries are switched off on a derived client:
 * the sync engine decides what to retry and when.
 *
 * [send] suspends on OkHttp's asynchronous call (no thread waits for the answer) and cancels
 * the call when its coroutine is cancelled, which the native side does as soon as the sync is
 * cancelled or the client closed.
 */
class OkHttpTransport(client: OkHttpClient) : HttpTransport {
    private val base = client.newBuilder().retryOnConnectionFailure(false).followRedirects(false).build()

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

    /** The answer as the core wants it: lowercase header names, the body capped. */
    private fun answer(response: Response, max: Long): HttpResponse = response.use {
        val headers = it.headers.names().associateWith { name -> it.header(name).orEmpty() }
            .mapKeys { entry -> entry.key.lowercase() }
        HttpResponse(it.code, headers, readCapped(it.body, max))
    }

    /** OkHttp's failures as the core's: timeouts, refused requests, the rest connection trouble. */
    private fun failure(e: Throwable): TransportException = when (e) {
        is SocketTimeoutException -> TransportException.Timeout(e.message ?: "timed out")
        // OkHttp's call timeout; a cancelled call is an IOException("Canceled") below.
        is InterruptedIOException -> TransportException.Timeout(e.message ?: "timed out")
        is IllegalArgumentException -> TransportException.Refused(e.message ?: "bad request")
        is IOException -> TransportException.Connection(e.message ?: e.javaClass.simpleName)
        else -> TransportException.Connection(e.message ?: e.javaClass.simpleName)
    }

    override suspend fun send(request: HttpRequest): HttpResponse {
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
        return suspendCancellableCoroutine { continuation ->
            continuation.invokeOnCancellation { call.cancel() }
            call.enqueue(object : Callback {
                override fun onFailure(call: Call, e: IOException) {
                    continuation.resumeWithException(failure(e))
                }

                override fun onResponse(call: Call, response: Response) {
                    // Read on OkHttp's dispatcher thread; a cancel closes the socket under it.
                    val result = try {
                        Result.success(answer(response, request.maxResponseBytes))
                    } catch (e: Exception) {
                        Result.failure(failure(e))
                    }
                    result.fold({ continuation.resume(it) }, { continuation.resumeWithException(it) })
                }
            })
        }
    }
}
