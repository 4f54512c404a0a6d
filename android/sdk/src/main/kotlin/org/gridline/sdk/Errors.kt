package org.gridline.sdk

/**
 * The errors of the Gridline SDK: a sealed hierarchy generated from the core's one error enum,
 * each subclass reachable from this package.
 *
 * - [ValidationException]: input broke a rule; `field` names it (`location.lat`, `category`, `id`).
 * - [StorageException]: the local database or files failed; nothing changed.
 * - [NetworkException]: the server could not be reached; `retryable` says whether to try later.
 * - [AuthException]: the token was refused, or the [TokenSource] threw.
 * - [ConflictException]: e.g. editing a queued report, or a ticket changed meanwhile.
 * - [BusyException]: another sync runs on this database (this app's, or another process's).
 * - [UnsentException]: [Gridline.wipe] refused; `reports`, `photos`, `triage` say what would be lost.
 * - [NotFoundException], [PhotoException], [ClosedException].
 */
typealias GridlineException = org.gridline.core.GridlineException

/** Input broke a rule; `field` names it. */
typealias ValidationException = org.gridline.core.GridlineException.Validation

/** The local database or files failed; nothing changed. */
typealias StorageException = org.gridline.core.GridlineException.Storage

/** The server could not be reached or answered badly; see `retryable`. */
typealias NetworkException = org.gridline.core.GridlineException.Network

/** The token was refused or could not be had. */
typealias AuthException = org.gridline.core.GridlineException.Auth

/** The action conflicts with the current state. */
typealias ConflictException = org.gridline.core.GridlineException.Conflict

/** The thing asked for does not exist. */
typealias NotFoundException = org.gridline.core.GridlineException.NotFound

/** A photo was refused (corrupt, too large, unsupported). */
typealias PhotoException = org.gridline.core.GridlineException.Photo

/** Another sync runs on this database. */
typealias BusyException = org.gridline.core.GridlineException.Busy

/** Sign-out refused: work on the device is not on the server yet. */
typealias UnsentException = org.gridline.core.GridlineException.Unsent

/** The [Gridline] instance was closed. */
typealias ClosedException = org.gridline.core.GridlineException.Closed
