//! The HTTP side: a tokio listener and hyper HTTP/1.1 connections. Each request is read within
//! its limits (header size and time, body size and time), authenticated, dispatched to its
//! operation and answered in AWS JSON 1.1 with an `x-amzn-RequestId`. Stopping finishes the
//! requests in flight and flushes the audit trail.

use crate::auth::{Authenticator, Identity, IdentityError, SignedRequest};
use crate::config::ServerConfig;
use crate::operations::Operation;
use crate::protocol::{ApiError, CONTENT_TYPE, Input};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use keyward_kms::{Kms, KmsConfig, KmsError};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Limits that keep one client from taking the server.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body (bytes).
    pub max_body: usize,
    /// Largest request head, request line and headers (bytes; at least 8192).
    pub max_head: usize,
    /// Time to send a request's head.
    pub head_timeout: Duration,
    /// Time to send a request's body once the head is in.
    pub body_timeout: Duration,
    /// Connections open at once; more wait to be accepted.
    pub max_connections: usize,
    /// How long a stop waits for requests in flight.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body: 512 * 1024,
            max_head: 64 * 1024,
            head_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// Why the server could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("opening the key service in {dir}: {source}")]
    Open { dir: String, source: KmsError },
    #[error("listening on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("stopping: {0}")]
    Flush(KmsError),
}

struct Shared {
    kms: Arc<Kms>,
    auth: Authenticator,
    limits: Limits,
}

/// A bound server, not yet serving.
pub struct Server {
    listener: TcpListener,
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
            region: config.region.clone(),
            account: config.account.clone(),
        };
        let kms =
            Kms::open_at(kms_config, &config.data_dir, &config.audit_log).map_err(|source| {
                ServeError::Open {
                    dir: config.data_dir.display().to_string(),
                    source,
                }
            })?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServeError::Bind {
                    addr: config.listen,
                    source,
                })?;
        Ok(Self {
            listener,
            shared: Arc::new(Shared {
                kms: Arc::new(kms),
                auth,
                limits,
            }),
        })
    }

    /// The address the listener accepts on (the port the system picked for port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The key service behind the server.
    pub fn kms(&self) -> Arc<Kms> {
        Arc::clone(&self.shared.kms)
    }

    /// Serves until `stop` completes; then stops accepting, lets the requests in flight finish
    /// (up to the grace period) and flushes the audit trail.
    pub async fn run(self, stop: impl Future<Output = ()>) -> Result<(), ServeError> {
        let Self { listener, shared } = self;
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let slots = Arc::new(Semaphore::new(shared.limits.max_connections));
        let mut stop = std::pin::pin!(stop);
        loop {
            let permit = tokio::select! {
                permit = Arc::clone(&slots).acquire_owned() => permit,
                () = &mut stop => break,
            };
            let Ok(permit) = permit else { break };
            let (stream, remote) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    // Out of file descriptors and the like: wait a moment, keep serving.
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
                () = &mut stop => break,
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
            let service_shared = Arc::clone(&shared);
            let connection = builder.serve_connection(
                TokioIo::new(stream),
                service_fn(move |request| {
                    let shared = Arc::clone(&service_shared);
                    async move { Ok::<_, Infallible>(handle(&shared, remote, request).await) }
                }),
            );
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                let _ = connection.await;
                drop(permit);
            });
        }
        drop(listener);
        let grace = shared.limits.shutdown_grace;
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(grace) => {}
        }
        shared.kms.flush().map_err(ServeError::Flush)
    }
}

/// Completes on SIGTERM or SIGINT (Ctrl-C).
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// One request, answered.
async fn handle(
    shared: &Shared,
    remote: SocketAddr,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let (status, body, close) = match respond(shared, remote, request).await {
        Ok(body) => (StatusCode::OK, body, false),
        Err(e) => {
            let close = matches!(e.status, 408 | 413);
            let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
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

async fn respond(
    shared: &Shared,
    remote: SocketAddr,
    request: Request<Incoming>,
) -> Result<Bytes, ApiError> {
    let limits = &shared.limits;
    let (parts, body) = request.into_parts();
    if parts.method != Method::POST {
        return Err(ApiError {
            status: 405,
            code: "UnsupportedMethodException".into(),
            message: Some(format!(
                "{} is not accepted: KMS requests are POST / (AWS JSON 1.1)",
                parts.method
            )),
        });
    }
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body as u64) {
        return Err(too_large(limits.max_body));
    }
    let read = tokio::time::timeout(
        limits.body_timeout,
        Limited::new(body, limits.max_body).collect(),
    );
    let body = match read.await {
        Err(_) => {
            return Err(ApiError {
                status: 408,
                code: "RequestTimeoutException".into(),
                message: Some(format!(
                    "The request body was not received within {} seconds.",
                    limits.body_timeout.as_secs()
                )),
            });
        }
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(too_large(limits.max_body));
        }
        Ok(Err(e)) => {
            return Err(ApiError::serialization(format!(
                "The request body could not be read: {e}"
            )));
        }
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    let identity = shared.auth.authenticate(
        &SignedRequest {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or(""),
            headers: &parts.headers,
            body: &body,
        },
        SystemTime::now(),
    )?;
    if parts.uri.path() != "/" {
        return Err(ApiError::new(
            "UnknownOperationException",
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
    let input = Input::parse(&body)?;
    let output = call(shared, &identity, remote, operation, input).await?;
    serde_json::to_vec(&output)
        .map(Bytes::from)
        .map_err(|e| ApiError {
            status: 500,
            code: "KMSInternalException".into(),
            message: Some(e.to_string()),
        })
}

async fn call(
    shared: &Shared,
    identity: &Arc<Identity>,
    remote: SocketAddr,
    operation: Operation,
    input: Input,
) -> Result<serde_json::Value, ApiError> {
    let caller = identity
        .caller
        .clone()
        .with_source_ip(&remote.ip().to_string());
    if operation.writes() {
        // Changes wait for the disk: off the request threads.
        let kms = Arc::clone(&shared.kms);
        tokio::task::spawn_blocking(move || operation.call(&kms, &caller, &input))
            .await
            .map_err(|e| ApiError {
                status: 500,
                code: "KMSInternalException".into(),
                message: Some(format!("the operation did not complete: {e}")),
            })?
    } else {
        operation.call(&shared.kms, &caller, &input)
    }
}

fn too_large(max: usize) -> ApiError {
    ApiError {
        status: 413,
        code: "RequestEntityTooLargeException".into(),
        message: Some(format!("The request body is larger than {max} bytes.")),
    }
}
