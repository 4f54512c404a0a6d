package org.gridline.sdk

/**
 * The errors of the Gridline SDK: a sealed hierarchy generated from the core's one error enum.
 *
 * - [GridlineException.Validation]: input broke a rule; `field` names it (`location.lat`, `category`, `id`).
 * - [GridlineException.Storage]: the local database or files failed; nothing changed.
 * - [GridlineException.Network]: the server could not be reached; `retryable` says whether to try later.
 * - [GridlineException.Auth]: the token was refused, or the [TokenSource] threw.
 * - [GridlineException.Conflict]: e.g. editing a queued report, or a ticket changed meanwhile.
 * - [GridlineException.NotFound], [GridlineException.Photo], [GridlineException.Closed].
 *
 * Kotlin type aliases do not reach nested classes: to match a subclass, import
 * `org.gridline.ffi.GridlineException` (this alias is for `catch (e: GridlineException)`).
 */
typealias GridlineException = org.gridline.ffi.GridlineException
