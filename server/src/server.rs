//! Starting and stopping a server: in a caller's tokio runtime ([`Server::bind`] +
//! [`BoundServer::run`]), on a runtime of its own for synchronous callers such as tests and the
//! demo ([`Server::start`] → [`RunningServer`]), or as the `gridline serve` process
//! ([`serve_until_signal`]).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use axum::Router;
use gridline_protocol::Timestamp;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::backends::{open_media, open_store};
use crate::config::Config;
use crate::error::ServerError;
use crate::lifecycle::CasePolicy;
use crate::listen::{self, ConnectionPolicy};
use crate::media::UploadLocks;
use crate::metrics::Metrics;
use crate::rate_limit::Limiter;
use crate::state::{AppState, GridCache, Published};
use crate::{middleware, routes, upstream};

/// Entry points; see the module docs.
#[derive(Debug, Clone, Copy)]
pub struct Server;

/// A server whose socket is bound but which does not serve yet.
pub struct BoundServer {
    listener: TcpListener,
    app: Router,
    state: AppState,
    addr: SocketAddr,
    connections: ConnectionPolicy,
}

/// A server running on its own thread and runtime. [`shutdown`](Self::shutdown) (or dropping
/// it) stops accepting, lets in-flight requests finish, and waits for the thread.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<Result<(), ServerError>>>,
}

impl Server {
    /// Opens the data folder (creating and migrating it), builds the app and binds
    /// `config.listen`. Call inside a tokio runtime.
    pub async fn bind(config: Config) -> Result<BoundServer, ServerError> {
        let listen = config.listen;
        let connections = config.connections;
        if !listen.ip().is_loopback() && !config.behind_tls_proxy {
            return Err(ServerError::Invalid(gridline_protocol::FieldError::new(
                "listen",
                format!(
                    "{listen} is not a loopback address and the server speaks plain HTTP: put it \
                     behind a TLS-terminating proxy and say so (--behind-tls-proxy), or listen \
                     on 127.0.0.1"
                ),
            )));
        }
        let (app, state) = tokio::task::spawn_blocking(move || app(&config))
            .await
            .map_err(|e| ServerError::Stopped(e.to_string()))??;
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        Ok(BoundServer {
            listener,
            app,
            state,
            addr,
            connections,
        })
    }

    /// Starts a server on a thread with its own multi-threaded runtime and returns once it is
    /// listening. For synchronous callers; do not call from inside an async task (use
    /// [`Server::bind`] there).
    pub fn start(config: Config) -> Result<RunningServer, ServerError> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("gridline-server".into())
            .spawn(move || -> Result<(), ServerError> {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .thread_name("gridline-server-worker")
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(ServerError::Io(e)));
                        return Ok(());
                    }
                };
                runtime.block_on(async move {
                    let bound = match Server::bind(config).await {
                        Ok(bound) => bound,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return Ok(());
                        }
                    };
                    let _ = ready_tx.send(Ok(bound.local_addr()));
                    bound
                        .run(async move {
                            let _ = stop_rx.await;
                        })
                        .await
                })
            })?;
        match ready_rx.recv() {
            Ok(Ok(addr)) => Ok(RunningServer {
                addr,
                stop: Some(stop_tx),
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => Err(ServerError::Stopped(
                "the server thread ended before it was listening".into(),
            )),
        }
    }
}

impl BoundServer {
    /// The bound address (the actual port when the config asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` completes, then drains in-flight requests.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        tracing::info!(addr = %self.addr, "gridline server listening");
        let sweeper = tokio::spawn(sweep_uploads_forever(self.state.clone()));
        let deadlines = tokio::spawn(check_deadlines_forever(self.state.clone()));
        let forwarder = (self.state.upstream.clone())
            .map(|config| tokio::spawn(upstream::forward_forever(self.state.clone(), config)));
        let served = listen::serve(self.listener, self.app, self.connections, shutdown).await;
        sweeper.abort();
        deadlines.abort();
        if let Some(forwarder) = forwarder {
            forwarder.abort();
        }
        served?;
        tracing::info!("gridline server stopped");
        Ok(())
    }
}

impl RunningServer {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`, the base URL clients use.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server gracefully and waits for it.
    pub fn shutdown(mut self) -> Result<(), ServerError> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> Result<(), ServerError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take().map(JoinHandle::join) {
            None => Ok(()),
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(ServerError::Stopped("the server thread panicked".into())),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Err(e) = self.stop_and_join() {
            tracing::warn!(error = %e, "server stopped with an error");
        }
    }
}

/// Runs a server in the current thread until Ctrl-C or SIGTERM; `on_bound` is told the
/// address once it listens (the CLI prints it). Builds its own runtime.
pub fn serve_until_signal(
    config: Config,
    on_bound: impl FnOnce(SocketAddr),
) -> Result<(), ServerError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let bound = Server::bind(config).await?;
        on_bound(bound.local_addr());
        bound.run(shutdown_signal()).await
    })
}

/// Completes on Ctrl-C, or SIGTERM on Unix (how service managers ask a process to stop).
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}

/// Marks passed deadlines now and then every `deadline_check_every`, for as long as the
/// server runs.
async fn check_deadlines_forever(state: AppState) {
    let mut every = tokio::time::interval(state.deadline_check_every);
    loop {
        every.tick().await;
        match check_deadlines(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(tickets = n, "marked tickets overdue"),
            Err(e) => tracing::warn!(error = %e, "checking deadlines failed"),
        }
    }
}

/// Marks every dispatched ticket whose deadline passed by the server's clock as overdue (once
/// per deadline, whichever instance gets there first); returns how many it marked.
pub async fn check_deadlines(state: &AppState) -> Result<u64, ServerError> {
    /// Tickets marked per transaction, so a backlog never holds locks for long.
    const CHUNK: u32 = 200;
    let mut total = 0u64;
    // Bounded: each round marks tickets that are then no longer candidates.
    for _ in 0..10_000 {
        let store = state.store.clone();
        let now = state.clock.now();
        let marked = tokio::task::spawn_blocking(move || store.mark_overdue(now, CHUNK))
            .await
            .map_err(|e| ServerError::Stopped(e.to_string()))??;
        total += u64::from(marked);
        if marked < CHUNK {
            break;
        }
    }
    Ok(total)
}

/// Deletes expired uploads now and then every `sweep_every`, for as long as the server runs.
async fn sweep_uploads_forever(state: AppState) {
    let mut every = tokio::time::interval(state.upload_policy.sweep_every);
    loop {
        every.tick().await;
        match sweep_uploads(&state, Timestamp::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(uploads = n, "deleted expired uploads"),
            Err(e) => tracing::warn!(error = %e, "sweeping expired uploads failed"),
        }
    }
}

/// Deletes uploads untouched for the policy's `expire_after` as of `now` (sessions and their
/// partial files, and partial files no session knows), and rate buckets idle as long;
/// returns how many sessions went.
pub async fn sweep_uploads(state: &AppState, now: Timestamp) -> Result<usize, ServerError> {
    let max_age = state.upload_policy.expire_after;
    let before = Timestamp::from_millis(
        now.as_millis()
            .saturating_sub(i64::try_from(max_age.as_millis()).unwrap_or(i64::MAX)),
    );
    let store = state.store.clone();
    let expired = tokio::task::spawn_blocking(move || {
        if let Some(shared) = store.coordination() {
            shared.forget_rates(before)?;
        }
        store.uploads_expired(before)
    })
    .await
    .map_err(|e| ServerError::Stopped(e.to_string()))??;
    for (user, sha256) in &expired {
        state.media.discard_partial(*user, sha256).await?;
    }
    state.media.sweep_partials(max_age).await?;
    Ok(expired.len())
}

/// Opens the data folder and assembles the router with its state and layers. Blocking.
pub fn app(config: &Config) -> Result<(Router, AppState), ServerError> {
    config.catalog.check().map_err(ServerError::Invalid)?;
    config.check_departments().map_err(ServerError::Invalid)?;
    let radius = config.cases.verification_radius_m;
    if !(radius.is_finite() && radius > 0.0) {
        return Err(ServerError::Invalid(gridline_protocol::FieldError::new(
            "verification_radius_m",
            format!("must be a positive number of metres, not {radius}"),
        )));
    }
    crate::open311::services::check(&config.catalog).map_err(ServerError::Invalid)?;
    if let Some(upstream) = &config.upstream {
        upstream
            .check()
            .map_err(|e| ServerError::Invalid(gridline_protocol::FieldError::new("upstream", e)))?;
    }
    let store = open_store(&config.storage)?;
    let media = open_media(&config.storage)?;
    let catalog_doc = Published::new(&config.catalog).map_err(|e| {
        ServerError::Invalid(gridline_protocol::FieldError::new("catalog", e.to_string()))
    })?;
    let grids = GridCache::new(config.locator.clone());
    // Build the grid snapshot now so a broken grid table fails startup, not the first request.
    grids.current(&*store)?;
    let instance = format!(
        "{}-{}-{:016x}",
        hostname(),
        std::process::id(),
        rand::random::<u64>()
    );
    let open311_keys =
        (config.open311.key_rate_limit).map(|l| Arc::new(Limiter::new(l, &store, "open311-key")));
    let open311_key_failures = (config.open311.key_failure_limit)
        .map(|l| Arc::new(Limiter::new(l, &store, "open311-key-failures")));
    let state = AppState {
        rate_limiter: config
            .rate_limit
            .map(|l| Arc::new(Limiter::new(l, &store, "token"))),
        auth_failures: config
            .auth_failure_limit
            .map(|l| Arc::new(Limiter::new(l, &store, "auth-failures"))),
        store,
        media,
        uploads: Arc::new(UploadLocks::default()),
        upload_policy: config.uploads,
        limits: config.limits,
        catalog: Arc::new(config.catalog.clone()),
        catalog_doc: Arc::new(catalog_doc),
        grids: Arc::new(grids),
        write_quota: config.write_quota,
        instance: instance.into(),
        request_timeout: config.request_timeout,
        metrics: Arc::new(Metrics::default()),
        departments: Arc::new(gridline_protocol::wire::Departments {
            departments: config.departments.clone(),
        }),
        policy: Arc::new(CasePolicy::new(
            Arc::new(config.catalog.clone()),
            &config.cases,
        )),
        deadline_check_every: config.cases.deadline_check_every,
        clock: config.clock.clone(),
        open311: Arc::new(config.open311.clone()),
        open311_keys,
        open311_key_failures,
        upstream: config.upstream.clone().map(Arc::new),
    };
    Ok((
        middleware::wrap(
            routes::router(state.clone())
                .merge(crate::console::router())
                .merge(crate::open311::router(state.clone())),
            config.request_timeout,
        ),
        state,
    ))
}

/// This machine's name, for naming the instance in upload leases (best effort).
fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "gridline".into())
}
