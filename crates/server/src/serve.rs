//! The HTTP side: a tokio listener and hyper HTTP/1.1 connections. Each request is read within
//! its limits (header size and time, body size and time), authenticated, dispatched to its
//! operation and answered in AWS JSON 1.1 with an `x-amzn-RequestId`. Stopping finishes the
//! requests in flight and flushes the audit trail.

use crate::auth::{Authenticator, Identity, IdentityError, SignedRequest};
use crate::config::ServerConfig;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use keyward_kms::api::wire::CONTENT_TYPE;
use keyward_kms::api::{ApiError, ErrorCode, Operation, Request as KmsRequest};
use keyward_kms::seed::Seeded;
use keyward_kms::{Kms, KmsConfig, OpenError, Regions};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};
use zeroize::Zeroizing;

/// Limits that keep one client from taking the server, and a client that has not
/// authenticated from holding anything for long.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body (bytes): the largest real KMS request is a CreateKey or
    /// PutKeyPolicy with a 32 KiB key policy, at most three times as long once JSON-escaped,
    /// plus the other members.
    pub max_body: usize,
    /// Largest request head, request line and headers (bytes; at least 8192): a signed KMS
    /// request's head is well under 4 KiB.
    pub max_head: usize,
    /// Time to send a request's head.
    pub head_timeout: Duration,
    /// Time to send a request's body once the head is in.
    pub body_timeout: Duration,
    /// Time a new connection has to send a request that authenticates; past it, a connection
    /// that has not is closed.
    pub auth_timeout: Duration,
    /// Connections open at once. When all are taken, the oldest connection that has not yet
    /// authenticated is closed to make room; connections that have wait to be accepted.
    pub max_connections: usize,
    /// Request-body bytes buffered across all connections at once; a request that would go
    /// over is refused (`ThrottlingException`, which SDKs retry) before its body is read.
    pub max_buffered: usize,
    /// Operations that keep a core busy (RSA key pairs) running at once, on the blocking
    /// pool, so that they never hold up the async workers; by default one fewer than the
    /// cores (at least one).
    pub max_cpu_heavy: usize,
    /// How long a stop waits for requests in flight.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body: 3 * 32 * 1024 + 32 * 1024,
            max_head: 16 * 1024,
            head_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            auth_timeout: Duration::from_secs(10),
            max_connections: 1024,
            max_buffered: 16 * 1024 * 1024,
            max_cpu_heavy: std::thread::available_parallelism()
                .map_or(1, |n| n.get().saturating_sub(1).max(1)),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// Why the server could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A configured principal cannot be built (its ARN or an identity policy is refused).
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The key service cannot be opened in the data directory (store, root key or audit log).
    #[error("opening the key service in {dir}: {source}")]
    Open {
        /// The data directory, as displayed.
        dir: String,
        /// Why the key service cannot be opened.
        source: OpenError,
    },
    /// The listener cannot be bound to the configured address.
    #[error("listening on {addr}: {source}")]
    Bind {
        /// The address and port that could not be bound.
        addr: SocketAddr,
        /// The I/O error of the bind.
        source: std::io::Error,
    },
    /// A seeded key cannot be created or kept.
    #[error("{file}{}: {source}", position.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
    Seed {
        /// The seed file.
        file: String,
        /// Where the seed file gives the key's `id`.
        position: Option<(usize, usize)>,
        /// What is wrong with the key.
        source: keyward_kms::seed::SeedError,
    },
    /// On stopping, the audit trail could not be synced to disk.
    #[error("stopping: syncing the audit trail: {0}")]
    Flush(std::io::Error),
}

struct Shared {
    regions: Regions,
    auth: Authenticator,
    limits: Limits,
    /// Request-body bytes that may still be buffered ([`Limits::max_buffered`]).
    buffered: Arc<Semaphore>,
    /// CPU-heavy operations that may still start ([`Limits::max_cpu_heavy`]).
    cpu_heavy: Arc<Semaphore>,
    /// Connections that have not authenticated yet, oldest first.
    unauthenticated: Unauthenticated,
    /// High-water mark of buffered body bytes (for tests and the figures).
    buffered_peak: AtomicUsize,
    /// Per Region, how many audit records the database's audit table refused when it was
    /// last said on stderr ([`report_audit_table_failures`]).
    audit_failures_said: Mutex<BTreeMap<String, u64>>,
    /// The `x-amzn-RequestId` of every answer: a counter under a random per-process prefix,
    /// not a call to the system's random source each.
    request_ids: keyward_kms::audit::EventIds,
}

/// The connections that have not yet sent a request that authenticates, by age, each with the
/// signal that closes it. When every connection slot is taken, the oldest is closed: a client
/// without credentials can delay others for no longer than it takes them to authenticate.
#[derive(Default)]
struct Unauthenticated {
    next: AtomicU64,
    open: Mutex<BTreeMap<u64, Arc<Notify>>>,
}

impl Unauthenticated {
    /// A new connection: its number and the signal that closes it.
    fn register(&self) -> (u64, Arc<Notify>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let close = Arc::new(Notify::new());
        if let Ok(mut open) = self.open.lock() {
            open.insert(id, Arc::clone(&close));
        }
        (id, close)
    }

    /// The connection authenticated (or ended): never evicted.
    fn forget(&self, id: u64) {
        if let Ok(mut open) = self.open.lock() {
            open.remove(&id);
        }
    }

    /// Closes the oldest connection that has not authenticated; whether there was one.
    fn evict_oldest(&self) -> bool {
        let oldest = self.open.lock().ok().and_then(|mut open| open.pop_first());
        match oldest {
            Some((_, close)) => {
                close.notify_one();
                true
            }
            None => false,
        }
    }
}

/// What a connection's requests share: whether one of them authenticated.
struct Connection {
    id: u64,
    authenticated: AtomicBool,
}

/// A bound server, not yet serving.
pub struct Server {
    listener: TcpListener,
    /// What seeding did with each seeded key, in the seed's order.
    seeded: Vec<Seeded>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.listener.local_addr().ok())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Opens the key service (data directory, root key, audit log) and binds the listener.
    pub async fn bind(config: &ServerConfig, limits: Limits) -> Result<Self, ServeError> {
        let auth = Authenticator::new(config)?;
        let kms_config = KmsConfig {
            enforcement: config.enforcement,
            quotas: config.quotas.clone(),
            instance: config.instance.clone(),
            audit_in_store: config.audit_in_store,
            key_stores: config.key_stores.clone(),
            pkcs11_module: config.pkcs11_module.clone(),
            audit_sync: config.audit_sync,
            ..KmsConfig::new(config.region.clone(), config.account.clone())
        };
        let regions = Regions::open_with(
            &kms_config,
            &config.regions,
            &config.data_dir,
            &config.audit_log,
            &config.store,
        )
        .map_err(|source| ServeError::Open {
            dir: config.data_dir.display().to_string(),
            source,
        })?;
        let kms = Arc::clone(regions.default_region());
        let seeded = match &config.seed {
            Some(seed) => kms.seed(&seed.keys).map_err(|source| ServeError::Seed {
                file: seed.file.clone(),
                position: seed.position_of(&source.key),
                source,
            })?,
            None => Vec::new(),
        };
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServeError::Bind {
                    addr: config.listen,
                    source,
                })?;
        Ok(Self {
            listener,
            seeded,
            shared: Arc::new(Shared {
                regions,
                auth,
                buffered: Arc::new(Semaphore::new(limits.max_buffered)),
                cpu_heavy: Arc::new(Semaphore::new(limits.max_cpu_heavy.max(1))),
                unauthenticated: Unauthenticated::default(),
                buffered_peak: AtomicUsize::new(0),
                audit_failures_said: Mutex::new(BTreeMap::new()),
                request_ids: keyward_kms::audit::EventIds::new(),
                limits,
            }),
        })
    }

    /// The address the listener accepts on (the port the system picked for port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// What seeding did with each key of the seed, in its order (empty without a seed).
    pub fn seeded(&self) -> &[Seeded] {
        &self.seeded
    }

    /// The key service of the default Region.
    pub fn kms(&self) -> Arc<Kms> {
        Arc::clone(self.shared.regions.default_region())
    }

    /// The key service of `region`, if the server serves it.
    pub fn kms_in(&self, region: &str) -> Option<Arc<Kms>> {
        self.shared.regions.get(region).map(Arc::clone)
    }

    /// A probe of the server's state while it runs (for tests and measurements).
    pub fn probe(&self) -> Probe {
        Probe {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Serves until `stop` completes; then stops accepting, lets the requests in flight finish
    /// (up to the grace period) and flushes the audit trail.
    pub async fn run(self, stop: impl Future<Output = ()>) -> Result<(), ServeError> {
        let Self {
            listener, shared, ..
        } = self;
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let slots = Arc::new(Semaphore::new(shared.limits.max_connections));
        let mut stop = std::pin::pin!(stop);
        loop {
            let (stream, remote) = tokio::select! {
                // A stop wins over a queue of connections that never empties.
                biased;
                () = &mut stop => break,
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    // Out of file descriptors and the like: wait a moment, keep serving.
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
            };
            let permit = match Arc::clone(&slots).try_acquire_owned() {
                Ok(permit) => permit,
                Err(_) => {
                    // Every slot is taken: make room by closing the oldest connection that has
                    // not authenticated, then wait for a slot.
                    shared.unauthenticated.evict_oldest();
                    let permit = tokio::select! {
                        permit = Arc::clone(&slots).acquire_owned() => permit,
                        () = &mut stop => break,
                    };
                    let Ok(permit) = permit else { break };
                    permit
                }
            };
            let _ = stream.set_nodelay(true);
            let shared = Arc::clone(&shared);
            let limits = &shared.limits;
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.head_timeout)
                .half_close(true)
                .max_buf_size(limits.max_head.max(8192));
            let (id, close) = shared.unauthenticated.register();
            let state = Arc::new(Connection {
                id,
                authenticated: AtomicBool::new(false),
            });
            let service_shared = Arc::clone(&shared);
            let service_state = Arc::clone(&state);
            let connection =
                builder.serve_connection(
                    TokioIo::new(stream),
                    service_fn(move |request| {
                        let shared = Arc::clone(&service_shared);
                        let state = Arc::clone(&service_state);
                        async move {
                            Ok::<_, Infallible>(handle(&shared, &state, remote, request).await)
                        }
                    }),
                );
            let connection = graceful.watch(connection);
            let auth_timeout = limits.auth_timeout;
            tokio::spawn(async move {
                let mut connection = std::pin::pin!(connection);
                let deadline = tokio::time::sleep(auth_timeout);
                let mut deadline = std::pin::pin!(deadline);
                let mut timing = true;
                loop {
                    tokio::select! {
                        _ = &mut connection => break,
                        () = close.notified() => break,
                        () = &mut deadline, if timing => {
                            if !state.authenticated.load(Ordering::Acquire) {
                                break;
                            }
                            timing = false;
                        }
                    }
                }
                shared.unauthenticated.forget(state.id);
                drop(permit);
            });
        }
        drop(listener);
        let grace = shared.limits.shutdown_grace;
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(grace) => {}
        }
        shared.regions.flush().map_err(ServeError::Flush)
    }
}

/// Registers the handlers for SIGTERM and SIGINT (Ctrl-C) now, and returns a future that
/// completes when either arrives. Registering before the server announces its address matters:
/// a signal sent as soon as the address is printed must stop the server gracefully, not kill it
/// with the default action because the handler was only installed on the future's first poll.
///
/// # Errors
/// When a handler cannot be registered (for example, outside a Tokio runtime).
pub fn stop_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = interrupt.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async move {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

/// A view of a running server's state.
pub struct Probe {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Probe").finish_non_exhaustive()
    }
}

impl Probe {
    /// The most request-body bytes buffered at once so far.
    pub fn buffered_peak(&self) -> usize {
        self.shared.buffered_peak.load(Ordering::Relaxed)
    }

    /// Connections open that have not authenticated.
    pub fn unauthenticated(&self) -> usize {
        self.shared
            .unauthenticated
            .open
            .lock()
            .map_or(0, |open| open.len())
    }
}

/// One request, answered.
async fn handle(
    shared: &Shared,
    connection: &Connection,
    remote: SocketAddr,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let request_id = shared.request_ids.next().to_string();
    let (status, body, close) = match respond(shared, connection, remote, request).await {
        Ok(body) => (StatusCode::OK, body, false),
        Err(e) => {
            let close = matches!(
                e.code,
                ErrorCode::RequestTimeout
                    | ErrorCode::RequestEntityTooLarge
                    | ErrorCode::Throttling
            );
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            (status, Bytes::from(e.body()), close)
        }
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(id) = HeaderValue::from_str(&request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    if close {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// The head's size as the limit counts it: the request line and every header line.
fn head_size(parts: &hyper::http::request::Parts) -> usize {
    let line = parts.method.as_str().len() + parts.uri.to_string().len() + 12;
    parts
        .headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum::<usize>()
        + line
}

async fn respond(
    shared: &Shared,
    connection: &Connection,
    remote: SocketAddr,
    request: Request<Incoming>,
) -> Result<Bytes, ApiError> {
    let limits = &shared.limits;
    let (parts, body) = request.into_parts();
    if head_size(&parts) > limits.max_head {
        return Err(ApiError::new(
            ErrorCode::RequestHeaderFieldsTooLarge,
            format!("The request head is larger than {} bytes.", limits.max_head),
        ));
    }
    if parts.method != Method::POST {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMethod,
            format!(
                "{} is not accepted: KMS requests are POST / (AWS JSON 1.1)",
                parts.method
            ),
        ));
    }
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body as u64) {
        return Err(too_large(limits.max_body));
    }
    // Authenticate what can be before a byte of the body is read: a client without a known
    // access key, a current date and the right scope never makes the server buffer anything.
    let now = SystemTime::now();
    let head = shared.auth.check_head(&parts.headers, now)?;
    // Reserve the body's bytes in the budget shared by every connection.
    let reserve = declared.map_or(limits.max_body, |n| {
        usize::try_from(n).unwrap_or(usize::MAX)
    });
    let Ok(_budget) = u32::try_from(reserve)
        .ok()
        .and_then(|n| Arc::clone(&shared.buffered).try_acquire_many_owned(n).ok())
        .ok_or(())
    else {
        return Err(ApiError::new(
            ErrorCode::Throttling,
            "Rate exceeded: too many request bodies are being received at once; retry.",
        ));
    };
    let in_use = limits.max_buffered - shared.buffered.available_permits();
    shared.buffered_peak.fetch_max(in_use, Ordering::Relaxed);
    let read = tokio::time::timeout(
        limits.body_timeout,
        Limited::new(body, limits.max_body).collect(),
    );
    let body: Zeroizing<Vec<u8>> = match read.await {
        Err(_) => {
            return Err(ApiError::new(
                ErrorCode::RequestTimeout,
                format!(
                    "The request body was not received within {} seconds.",
                    limits.body_timeout.as_secs()
                ),
            ));
        }
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(too_large(limits.max_body));
        }
        Ok(Err(e)) => {
            return Err(ApiError::new(
                ErrorCode::Serialization,
                format!("The request body could not be read: {e}"),
            ));
        }
        Ok(Ok(collected)) => Zeroizing::new(Vec::from(collected.to_bytes())),
    };
    let region = head.region().to_owned();
    let identity = shared.auth.verify(
        &head,
        &SignedRequest {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or(""),
            headers: &parts.headers,
            body: &body,
        },
    )?;
    if !connection.authenticated.swap(true, Ordering::AcqRel) {
        shared.unauthenticated.forget(connection.id);
    }
    if parts.uri.path() != "/" {
        return Err(ApiError::new(
            ErrorCode::UnknownOperation,
            format!(
                "No operation at {}: KMS requests are POST /",
                parts.uri.path()
            ),
        ));
    }
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let operation = Operation::from_target(target)?;
    let input = operation.parse(&body)?;
    drop(body);
    // The scope's Region is one the authenticator accepts, so one served.
    let kms = shared.regions.get(&region).ok_or_else(|| {
        ApiError::new(
            ErrorCode::InvalidSignature,
            format!("Credential should be scoped to a valid region, not '{region}'. "),
        )
    })?;
    let output = call(shared, kms, &identity, remote, input).await;
    report_audit_table_failures(shared, &region, kms);
    Ok(Bytes::from_owner(output?.to_body()?))
}

/// Says on stderr that audit records could not be written to the database's audit table
/// (`audit = "postgres"`; each is still in the audit log file): at the first, then each time
/// their count doubles, so that a table that stays broken does not flood the log.
fn report_audit_table_failures(shared: &Shared, region: &str, kms: &Kms) {
    let failures = kms.audit_table_failures();
    if failures == 0 || !failures.is_power_of_two() {
        return;
    }
    let Ok(mut said) = shared.audit_failures_said.lock() else {
        return;
    };
    let before = said.entry(region.to_owned()).or_insert(0);
    if failures > *before {
        *before = failures;
        eprintln!(
            "keyward serve: {failures} audit record(s) of Region {region} could not be written to \
             the database's audit table so far; each is in the audit log file"
        );
    }
}

async fn call(
    shared: &Shared,
    kms: &Arc<Kms>,
    identity: &Arc<Identity>,
    remote: SocketAddr,
    input: KmsRequest,
) -> Result<keyward_kms::api::Response, ApiError> {
    // The address as the client has it: an IPv4 client of a dual-stack listener is IPv4.
    let caller = identity
        .caller
        .clone()
        .with_source_ip(&remote.ip().to_canonical().to_string());
    // Request quotas and injected faults, when configured, before anything is served.
    let admission = kms.admit_request(&caller, &input)?;
    if let Some(delay) = admission.delay {
        tokio::time::sleep(delay).await;
    }
    let heavy = input.cpu_heavy();
    if kms.may_write(&input) || heavy {
        // Changes wait for the disk, and CPU-heavy work (RSA key pairs) would hold up the
        // async workers: both run on the blocking pool, the heavy ones a few at a time.
        let permit = if heavy {
            Some(
                Arc::clone(&shared.cpu_heavy)
                    .acquire_owned()
                    .await
                    .map_err(|_| internal("the server is stopping"))?,
            )
        } else {
            None
        };
        let kms = Arc::clone(kms);
        tokio::task::spawn_blocking(move || {
            let answer = kms.handle(&caller, &input);
            drop(permit);
            answer.map_err(ApiError::from)
        })
        .await
        .map_err(|e| internal(&format!("the operation did not complete: {e}")))?
    } else {
        kms.handle(&caller, &input).map_err(ApiError::from)
    }
}

fn internal(message: &str) -> ApiError {
    ApiError::new(ErrorCode::KmsInternal, message)
}

fn too_large(max: usize) -> ApiError {
    ApiError::new(
        ErrorCode::RequestEntityTooLarge,
        format!("The request body is larger than {max} bytes."),
    )
}
