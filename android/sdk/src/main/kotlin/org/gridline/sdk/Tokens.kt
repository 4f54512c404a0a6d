package org.gridline.sdk

import kotlinx.coroutines.CancellationException
import org.gridline.core.TokenException
import org.gridline.core.TokenProvider

/**
 * The app's login, as Gridline needs it: the bearer token of the signed-in user. With
 * `refresh = true` the previous token was refused and a fresh one is wanted; suspend while
 * your auth library refreshes it (the coroutine is cancelled when the sync is). Throwing is
 * fine: the sync then fails with [AuthException] and nothing is lost.
 */
fun interface TokenSource {
    /** The current (or, with [refresh], a fresh) token. */
    suspend fun token(refresh: Boolean): String
}

/**
 * Adapts a [TokenSource] to the FFI's suspending provider; any exception but cancellation
 * becomes [TokenException.Unavailable].
 */
internal fun TokenSource.asProvider(): TokenProvider = object : TokenProvider {
    override suspend fun token(refresh: Boolean): String =
        try {
            this@asProvider.token(refresh)
        } catch (e: CancellationException) {
            throw e
        } catch (e: Exception) {
            throw TokenException.Unavailable(e.message ?: e.javaClass.simpleName)
        }
}
