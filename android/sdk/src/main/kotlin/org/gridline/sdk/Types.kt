package org.gridline.sdk

/*
 * The records and enums of the public API, reachable from this package (they are generated in
 * `org.gridline.core`, `org.gridline.protocol` and `org.gridline.ffi`, after the Rust crate
 * that defines them). Records are immutable (`val`s): change one with `copy(...)`.
 * Sealed types with subclasses (`SyncStatus`, `AttrValue`, `TriageAction`) are imported from
 * their generated package: Kotlin cannot reach nested classes through an alias.
 */

/** A report as the device keeps it. */
typealias Report = org.gridline.core.LocalReport

/** One line of the queue screen (no payload); see [Gridline.listRows]. */
typealias ReportRow = org.gridline.core.ReportRow

/** Where the next page of [Gridline.listRows] starts. */
typealias ListCursor = org.gridline.core.ListCursor

/** Changes to a draft; every field has a default, so name the ones you set. */
typealias DraftPatch = org.gridline.core.DraftPatch

/** What a report is about. */
typealias ReportKind = org.gridline.protocol.ReportKind

/** Where a report is in the outbox. */
typealias ReportState = org.gridline.core.ReportState

/** A resolved ticket waiting for a rider's on-the-spot verification (核查). */
typealias VerificationTask = org.gridline.protocol.VerificationTask

/** Where a ticket is on the server. */
typealias TicketStatus = org.gridline.protocol.TicketStatus

/** A position fix with its provenance. */
typealias LocationFix = org.gridline.protocol.LocationFix

/** Badge counts per state. */
typealias Counts = org.gridline.core.Counts

/** Tuning of a sync run; defaults suit a phone. */
typealias SyncSettings = org.gridline.core.SyncSettings

/** What a sync run achieved. */
typealias SyncSummary = org.gridline.core.SyncSummary

/** What changed in the store. */
typealias DataChange = org.gridline.core.DataChange

/** One reason to doubt a report (informs a supervisor, never blocks the report). */
typealias FraudSignal = org.gridline.protocol.FraudSignal

/** How much a [FraudSignal] should worry a supervisor. */
typealias SignalSeverity = org.gridline.protocol.SignalSeverity

/** What the server's signature check found on a ticket, and its fraud signals. */
typealias TicketEvidence = org.gridline.protocol.TicketEvidence

/** The outcome of the server's signature check. */
typealias SignatureCheck = org.gridline.protocol.SignatureCheck

/** A report that may describe the same problem, with why. */
typealias NearbyReport = org.gridline.core.NearbyReport
