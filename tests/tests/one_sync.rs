//! One sync at a time per database, the observable status, and sign-out: against the real
//! reference server on loopback, with real SQLite files shared by several clients (as a
//! background job and the app's screen share one file) and by another process.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Mutex};

use gridline_core::store::Store;
use gridline_core::sync::SyncOptions;
use gridline_core::sync::lease::SyncLease;
use gridline_core::{
    CancelToken, Change, Client, ClientObserver, GridlineError, ListFilter, SyncObserver,
    SyncPhase, SyncProgress, SyncStatus,
};
use gridline_e2e::district::{District, device, make_photos};
use gridline_e2e::reports;

/// Files `n` potholes spread over the district.
fn file_many(client: &Client, n: usize) -> Vec<uuid::Uuid> {
    (0..n)
        .map(|i| {
            let lat = 29.851 + (i % 30) as f64 * 0.001;
            let lon = 121.521 + (i / 30) as f64 * 0.001;
            reports::pothole(client, lat, lon, &format!("pothole {i}"), None)
        })
        .collect()
}

/// The history details of every report, to spot a run that reset another's batch.
fn reset_count(db: &std::path::Path, ids: &[uuid::Uuid]) -> usize {
    let store = Store::open(db).expect("open store");
    ids.iter()
        .flat_map(|id| store.history(id).expect("history"))
        .filter(|c| c.detail.as_deref() == Some("interrupted sync"))
        .count()
}

/// Holds the first run inside its prepare phase until told to go on.
struct Gate {
    entered: Mutex<Option<mpsc::Sender<()>>>,
    go: Mutex<mpsc::Receiver<()>>,
}

impl SyncObserver for Gate {
    fn on_progress(&self, p: SyncProgress) {
        if p.phase == SyncPhase::Prepare
            && p.done == 0
            && let Some(tx) = self.entered.lock().expect("gate").take()
        {
            let _ = tx.send(());
            let _ = self.go.lock().expect("gate").recv();
        }
    }
}

#[test]
fn a_second_sync_on_the_same_database_is_busy_and_resets_nothing() {
    let district = District::start(1);
    let scratch = district.scratch("devices");
    let rider = &district.riders[0];
    let app = device(&scratch, rider);
    let ids = file_many(&app, 60);
    // The background job opens its own client on the same file, as another process would.
    let job = device(&scratch, rider);
    let ctx = district.context(&district.url(), rider);

    let (entered_tx, entered_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel();
    let gate = Gate {
        entered: Mutex::new(Some(entered_tx)),
        go: Mutex::new(go_rx),
    };
    let (first, second) = std::thread::scope(|s| {
        let running = s.spawn(|| {
            app.sync(
                &ctx,
                &SyncOptions::default(),
                Some(&gate),
                &CancelToken::new(),
            )
        });
        entered_rx.recv().expect("first run started");
        let second = job.sync(&ctx, &SyncOptions::default(), None, &CancelToken::new());
        let again_same_client = app.sync(&ctx, &SyncOptions::default(), None, &CancelToken::new());
        assert!(
            matches!(again_same_client, Err(GridlineError::Busy { .. })),
            "{again_same_client:?}"
        );
        go_tx.send(()).expect("release");
        (running.join().expect("first run"), second)
    });
    assert!(
        matches!(second, Err(GridlineError::Busy { .. })),
        "{second:?}"
    );
    let summary = first.expect("first run");
    assert_eq!(
        (
            summary.sent,
            summary.already_accepted,
            summary.remaining,
            summary.incomplete
        ),
        (60, 0, 0, false),
        "{summary:?}"
    );
    assert_eq!(reset_count(&scratch.join("rider-0.db"), &ids), 0);
    // The lock went with the run: the job syncs now, with nothing left to send.
    let later = job
        .sync(&ctx, &SyncOptions::default(), None, &CancelToken::new())
        .expect("later sync");
    assert_eq!((later.sent, later.already_accepted), (0, 0));
    assert_eq!(district.all_tickets().len(), 60);
}

#[test]
fn racing_syncs_send_each_report_once_and_never_reset_each_other() {
    let district = District::start(1);
    let scratch = district.scratch("devices");
    let rider = &district.riders[0];
    let ids = file_many(&device(&scratch, rider), 120);
    let ctx = district.context(&district.url(), rider);
    // Small batches make the runs long enough to overlap when nothing keeps them apart.
    let opts = SyncOptions {
        max_batch: 5,
        ..SyncOptions::default()
    };
    let clients: Vec<Client> = (0..3).map(|_| device(&scratch, rider)).collect();
    let start = Barrier::new(clients.len());
    let outcomes: Vec<_> = std::thread::scope(|s| {
        let runs: Vec<_> = clients
            .iter()
            .map(|c| {
                let (start, ctx, opts) = (&start, &ctx, &opts);
                s.spawn(move || {
                    start.wait();
                    c.sync(ctx, opts, None, &CancelToken::new())
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().expect("run")).collect()
    });
    let mut sent = 0;
    for outcome in &outcomes {
        match outcome {
            Ok(s) => {
                assert_eq!(s.already_accepted, 0, "a report was sent twice: {s:?}");
                assert!(!s.incomplete, "{s:?}");
                sent += s.sent;
            }
            Err(GridlineError::Busy { .. }) => {}
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert!(outcomes.iter().any(|o| o.is_ok()));
    assert_eq!(sent, 120, "{outcomes:?}");
    assert_eq!(reset_count(&scratch.join("rider-0.db"), &ids), 0);
    let tickets = district.all_tickets();
    let reports: HashSet<_> = tickets.iter().map(|t| t.report_id).collect();
    assert_eq!((tickets.len(), reports.len()), (120, 120));
}

/// Run as a child process by the test below: holds the lease until its stdin closes.
#[test]
fn child_process_holding_the_sync_lease() {
    let Ok(db) = std::env::var("GRIDLINE_LEASE_CHILD_DB") else {
        return; // Only meaningful as the child of the test below.
    };
    let _lease = SyncLease::acquire(std::path::Path::new(&db), "child").expect("child lease");
    println!("held");
    std::io::stdout().flush().expect("flush");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

#[test]
fn a_sync_held_by_another_process_makes_this_one_busy() {
    let district = District::start(1);
    let scratch = district.scratch("devices");
    let rider = &district.riders[0];
    let app = device(&scratch, rider);
    file_many(&app, 3);
    let db = scratch.join("rider-0.db");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "child_process_holding_the_sync_lease",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("GRIDLINE_LEASE_CHILD_DB", &db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn child");
    let mut out = BufReader::new(child.stdout.take().expect("child stdout"));
    let mut line = String::new();
    while !line.contains("held") {
        line.clear();
        assert!(
            out.read_line(&mut line).expect("read child") > 0,
            "child ended early"
        );
    }
    let ctx = district.context(&district.url(), rider);
    let busy = app.sync(&ctx, &SyncOptions::default(), None, &CancelToken::new());
    assert!(matches!(busy, Err(GridlineError::Busy { .. })), "{busy:?}");
    assert_eq!(app.counts().expect("counts").pending, 3, "nothing moved");
    drop(child.stdin.take()); // the child lets go and exits
    assert!(child.wait().expect("child exit").success());
    let summary = app
        .sync(&ctx, &SyncOptions::default(), None, &CancelToken::new())
        .expect("sync after the child exited");
    assert_eq!(summary.sent, 3);
}

/// Records what a client observer is told.
#[derive(Default)]
struct Recorder {
    statuses: Mutex<Vec<SyncStatus>>,
    changes: Mutex<Vec<Change>>,
}

impl ClientObserver for Recorder {
    fn on_status(&self, status: SyncStatus) {
        self.statuses.lock().expect("recorder").push(status);
    }
    fn on_change(&self, change: Change) {
        self.changes.lock().expect("recorder").push(change);
    }
}

#[test]
fn observers_see_syncing_with_progress_then_idle_or_waiting() {
    let mut district = District::start(1);
    let scratch = district.scratch("devices");
    let rider = &district.riders[0].clone();
    let app = device(&scratch, rider);
    let recorder = Arc::new(Recorder::default());
    let id = app.add_observer(recorder.clone());
    file_many(&app, 3);
    assert_eq!(app.sync_status(), SyncStatus::Idle);
    let ctx = district.context(&district.url(), rider);
    app.sync(&ctx, &SyncOptions::default(), None, &CancelToken::new())
        .expect("sync");
    {
        let statuses = recorder.statuses.lock().expect("recorder");
        assert_eq!(statuses.first(), Some(&SyncStatus::Idle), "told at once");
        assert_eq!(
            statuses.get(1),
            Some(&SyncStatus::Syncing { progress: None })
        );
        assert!(statuses.iter().any(|s| matches!(
            s,
            SyncStatus::Syncing { progress: Some(p) } if p.phase == SyncPhase::Reports && p.done == 3
        )), "{statuses:?}");
        assert_eq!(statuses.last(), Some(&SyncStatus::Idle));
        let changes = recorder.changes.lock().expect("recorder");
        // Three drafts, three updates, three submits, then the sync's own.
        let reports = changes.iter().filter(|c| **c == Change::Reports).count();
        assert!(reports > 9, "{changes:?}");
    }
    // A server that cannot be reached: the run ends waiting for its retry time.
    file_many(&app, 1);
    let url = district.url();
    district.server = None; // stops the server
    let opts = SyncOptions {
        max_retries: 0,
        ..SyncOptions::default()
    };
    let summary = app
        .sync(
            &district.context(&url, rider),
            &opts,
            None,
            &CancelToken::new(),
        )
        .expect("an unreachable server is not an error");
    let until = summary.next_retry_at.expect("a retry time");
    assert!(matches!(
        app.sync_status(),
        SyncStatus::Waiting { until: u, last_error: Some(_) } if u == until
    ));
    // A reopened client starts from the stored retry time.
    let reopened = device(&scratch, rider);
    assert!(matches!(reopened.sync_status(), SyncStatus::Waiting { .. }));
    // A refused token is an error status.
    district.start_server(district.config());
    let mut bad = district.context(&district.url(), rider);
    bad.tokens = Arc::new(gridline_core::transport::StaticToken("not-a-token".into()));
    let err = app.sync(&bad, &SyncOptions::default(), None, &CancelToken::new());
    assert!(matches!(err, Err(GridlineError::Auth { .. })), "{err:?}");
    assert!(matches!(app.sync_status(), SyncStatus::Failed { .. }));
    assert!(app.remove_observer(id));
    assert!(!app.remove_observer(id));
}

#[test]
fn wipe_refuses_unsent_work_then_deletes_rows_and_photo_files() {
    let district = District::start(1);
    let scratch = district.scratch("devices");
    let rider = &district.riders[0];
    let app = device(&scratch, rider);
    let photos = make_photos(&district.scratch("camera"), 2);
    reports::pothole(&app, 29.86, 121.53, "with photo", Some(&photos[0]));
    let draft = app
        .create_draft(gridline_protocol::ReportKind::RoadDamage)
        .expect("draft");
    app.attach_photo(draft.id, &photos[1])
        .expect("photo on draft");
    let media = app.media_dir();
    assert!(std::fs::read_dir(&media).expect("media").count() >= 4);

    let refused = app.wipe(false);
    assert!(
        matches!(refused, Err(GridlineError::Unsent { reports: 2, .. })),
        "{refused:?}"
    );
    assert_eq!(app.counts().expect("counts").pending, 1, "nothing deleted");

    // Sync sends the report and its photo; the draft is still unsent.
    let ctx = district.context(&district.url(), rider);
    app.sync(&ctx, &SyncOptions::default(), None, &CancelToken::new())
        .expect("sync");
    let refused = app.wipe(false);
    assert!(
        matches!(
            refused,
            Err(GridlineError::Unsent {
                reports: 1,
                photos: 0,
                triage: 0
            })
        ),
        "{refused:?}"
    );

    let recorder = Arc::new(Recorder::default());
    app.add_observer(recorder.clone());
    app.wipe(true).expect("forced wipe");
    assert!(!media.exists(), "photo files deleted");
    assert!(app.list(&ListFilter::default()).expect("list").is_empty());
    let counts = app.counts().expect("counts");
    assert_eq!((counts.drafts, counts.pending, counts.accepted), (0, 0, 0));
    assert!(
        recorder
            .changes
            .lock()
            .expect("recorder")
            .contains(&Change::Reports)
    );
    // Nothing of the rider's is left in the file: no note, no coordinates.
    drop(app);
    let bytes = std::fs::read(scratch.join("rider-0.db")).expect("db bytes");
    let needle = b"with photo";
    assert!(!bytes.windows(needle.len()).any(|w| w == needle));
    // An empty device wipes without force.
    device(&scratch, rider)
        .wipe(false)
        .expect("nothing to lose");
}
