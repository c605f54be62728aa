//! `scenarios serve`: registered envs over HTTP and WebSocket, with Gymnasium semantics.
//!
//! Each batch is one [`VecEnv`] behind its own mutex in the shared [`Server`] state; env steps
//! take microseconds, so handlers lock and step synchronously. See `docs/server.md`.
//!
//! Invariants: no input makes a handler panic; every failure is answered with a 4xx status
//! and a JSON body `{"error": "..."}`; the sum of the live batches' sizes never exceeds
//! [`Limits::max_server_episodes`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sim_core::{
    Action, AutoresetMode, ConfigError, EngineError, EnvSpec, Info, Registry, Reset, Step, Transcript, VecEnv,
};
use thiserror::Error;

mod openenv;

/// Resource limits of a server. Every one is enforced before any env work is done.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest accepted request body or WebSocket message, in bytes (larger: 413).
    pub max_body_bytes: usize,
    /// Most slots one batch may have.
    pub max_batch_size: usize,
    /// Most slots all live batches together may have.
    pub max_server_episodes: usize,
    /// A batch that receives no request for this long is closed by a background task; so is
    /// an OpenEnv session.
    pub idle_timeout: Duration,
    /// Most OpenEnv sessions (WebSocket connections and named HTTP episodes) at once.
    pub max_sessions: usize,
    /// The maximum action size in bytes: a longer action is an invalid action with the env's
    /// penalty, stored clipped ([`sim_core::limit`]).
    pub max_action_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 20,
            max_batch_size: 4096,
            max_server_episodes: 65_536,
            idle_timeout: Duration::from_secs(600),
            max_sessions: 1024,
            max_action_bytes: sim_core::DEFAULT_MAX_ACTION_BYTES,
        }
    }
}

/// Why a request failed; each variant maps to one 4xx status.
#[derive(Debug, Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("no batch with id `{0}`")]
    UnknownBatch(String),
    #[error("no slot `{0}`: slots are numbered from 0")]
    BadSlot(String),
    #[error("batch size {size} is outside 1..={max}")]
    BatchSize { size: usize, max: usize },
    #[error("the server holds {live} live episodes; {requested} more would exceed its limit of {max}")]
    ServerFull { live: usize, requested: usize, max: usize },
    #[error("invalid request: {0}")]
    BadRequest(String),
    #[error("{message}")]
    Rejected { status: StatusCode, message: String },
    #[error("no such endpoint; see docs/server.md")]
    NoRoute,
}

impl ServeError {
    pub fn status(&self) -> StatusCode {
        match self {
            ServeError::Config(ConfigError::UnknownEnv { .. }) => StatusCode::NOT_FOUND,
            ServeError::Config(_) => StatusCode::BAD_REQUEST,
            ServeError::Engine(EngineError::EpisodeFinished { .. } | EngineError::NotReset) => StatusCode::CONFLICT,
            ServeError::Engine(_) => StatusCode::BAD_REQUEST,
            ServeError::UnknownBatch(_) | ServeError::BadSlot(_) | ServeError::NoRoute => StatusCode::NOT_FOUND,
            ServeError::BatchSize { .. } | ServeError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ServeError::ServerFull { .. } => StatusCode::TOO_MANY_REQUESTS,
            ServeError::Rejected { status, .. } => *status,
        }
    }

    fn body(&self) -> Value {
        json!({ "error": self.to_string() })
    }
}

impl IntoResponse for ServeError {
    fn into_response(self) -> Response {
        (self.status(), Json(self.body())).into_response()
    }
}

/// A JSON request body whose rejections (too large, unreadable, malformed, wrong types) are
/// [`ServeError`]s with JSON bodies, unlike axum's plain-text `Json` rejections.
struct JsonBody<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ServeError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| ServeError::Rejected { status: rejection.status(), message: rejection.body_text() })?;
        parse_json(&bytes).map(JsonBody)
    }
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ServeError> {
    serde_json::from_slice(bytes).map_err(|error| ServeError::BadRequest(error.to_string()))
}

/// One live batch: its envs and when a request last touched it.
struct Batch {
    env: VecEnv,
    last_used: Instant,
}

/// The shared state of a server: the registry, the limits and the live batches.
pub struct Server {
    registry: Registry,
    limits: Limits,
    next_id: AtomicU64,
    batches: Mutex<HashMap<u64, LiveBatch>>,
    openenv: openenv::Sessions,
}

/// A map entry: the batch's size is kept outside its lock, so counting never waits on a step.
struct LiveBatch {
    size: usize,
    batch: Arc<Mutex<Batch>>,
}

/// Locks a mutex; a poisoned one (a panic elsewhere, never expected) is used as is, since
/// every critical section leaves the data consistent or unchanged.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Server {
    pub fn new(registry: Registry, limits: Limits) -> Self {
        Self {
            registry,
            limits,
            next_id: AtomicU64::new(1),
            batches: Mutex::new(HashMap::new()),
            openenv: openenv::Sessions::default(),
        }
    }

    fn batch(&self, id: &str) -> Result<Arc<Mutex<Batch>>, ServeError> {
        let key: u64 = id.parse().map_err(|_| ServeError::UnknownBatch(id.to_owned()))?;
        lock(&self.batches)
            .get(&key)
            .map(|live| live.batch.clone())
            .ok_or_else(|| ServeError::UnknownBatch(id.to_owned()))
    }

    /// Runs `work` on the batch's env with the batch locked, and marks the batch as used.
    fn with_batch<R>(
        &self,
        id: &str,
        work: impl FnOnce(&mut VecEnv) -> Result<R, ServeError>,
    ) -> Result<R, ServeError> {
        let batch = self.batch(id)?;
        let mut batch = lock(&batch);
        batch.last_used = Instant::now();
        work(&mut batch.env)
    }

    fn live_episodes(batches: &HashMap<u64, LiveBatch>) -> usize {
        batches.values().map(|live| live.size).sum()
    }

    /// Closes batches and named OpenEnv episodes idle for longer than the limit; returns how
    /// many were closed.
    pub fn close_idle(&self) -> usize {
        let timeout = self.limits.idle_timeout;
        let mut batches = lock(&self.batches);
        let before = batches.len();
        batches.retain(|_, live| lock(&live.batch).last_used.elapsed() < timeout);
        let closed = before - batches.len();
        drop(batches);
        closed + self.openenv.close_idle(timeout)
    }
}

type Shared = Arc<Server>;

#[derive(Serialize)]
struct EnvEntry<'a> {
    id: &'a str,
    spec: EnvSpec,
}

async fn list_envs(State(server): State<Shared>) -> Result<Json<Value>, ServeError> {
    let mut envs = Vec::new();
    for id in server.registry.ids() {
        let kind = server.registry.make(id, None)?;
        envs.push(EnvEntry { id, spec: kind.spec().clone() });
    }
    Ok(Json(json!({ "envs": envs })))
}

async fn stats(State(server): State<Shared>) -> Json<Value> {
    let batches = lock(&server.batches);
    Json(json!({
        "live_batches": batches.len(),
        "live_episodes": Server::live_episodes(&batches),
        "openenv_sessions": server.openenv.live(),
        "limits": {
            "max_body_bytes": server.limits.max_body_bytes,
            "max_batch_size": server.limits.max_batch_size,
            "max_server_episodes": server.limits.max_server_episodes,
            "idle_timeout_seconds": server.limits.idle_timeout.as_secs_f64(),
            "max_sessions": server.limits.max_sessions,
            "max_action_bytes": server.limits.max_action_bytes,
        },
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    env: String,
    #[serde(default)]
    config: Option<String>,
    size: usize,
    seed: u64,
    #[serde(default)]
    autoreset: AutoresetMode,
}

/// Observations and infos of reset slots, in the order of `slots`.
#[derive(Serialize)]
struct ResetResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    batch: Option<u64>,
    slots: Vec<usize>,
    observations: Vec<String>,
    infos: Vec<Info>,
}

impl ResetResponse {
    fn new(batch: Option<u64>, slots: Vec<usize>, resets: Vec<Reset>) -> Self {
        let (observations, infos) =
            resets.into_iter().map(|reset| (reset.observation.into_owned(), reset.info)).unzip();
        Self { batch, slots, observations, infos }
    }
}

async fn create_batch(
    State(server): State<Shared>,
    JsonBody(request): JsonBody<CreateRequest>,
) -> Result<(StatusCode, Json<ResetResponse>), ServeError> {
    let max = server.limits.max_batch_size;
    if request.size == 0 || request.size > max {
        return Err(ServeError::BatchSize { size: request.size, max });
    }
    let kind = server.registry.make(&request.env, request.config.as_deref())?;
    let mut env =
        VecEnv::new(kind, request.size, request.autoreset).with_max_action_bytes(server.limits.max_action_bytes);
    let resets = env.reset(request.seed);
    let mut batches = lock(&server.batches);
    let live = Server::live_episodes(&batches);
    let limit = server.limits.max_server_episodes;
    if live + request.size > limit {
        return Err(ServeError::ServerFull { live, requested: request.size, max: limit });
    }
    let id = server.next_id.fetch_add(1, Ordering::Relaxed);
    let batch = Arc::new(Mutex::new(Batch { env, last_used: Instant::now() }));
    batches.insert(id, LiveBatch { size: request.size, batch });
    drop(batches);
    let slots = (0..request.size).collect();
    Ok((StatusCode::CREATED, Json(ResetResponse::new(Some(id), slots, resets))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    slots: Option<Vec<usize>>,
}

async fn reset_batch(
    State(server): State<Shared>,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<ResetRequest>,
) -> Result<Json<ResetResponse>, ServeError> {
    server.with_batch(&id, |env| {
        let (slots, resets) = match (request.seed, request.slots) {
            (Some(_), Some(_)) => {
                return Err(ServeError::BadRequest("give either `seed` (all slots) or `slots`, not both".into()));
            }
            (Some(seed), None) => ((0..env.size()).collect(), env.reset(seed)),
            (None, Some(slots)) => {
                let resets = env.reset_slots(&slots)?;
                (slots, resets)
            }
            (None, None) => {
                let slots: Vec<usize> = (0..env.size()).collect();
                let resets = env.reset_slots(&slots)?;
                (slots, resets)
            }
        };
        Ok(Json(ResetResponse::new(None, slots, resets)))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepRequest {
    actions: Vec<SlotAction>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SlotAction {
    slot: usize,
    action: String,
}

#[derive(Serialize)]
struct SlotStep {
    slot: usize,
    #[serde(flatten)]
    step: Step,
}

#[derive(Serialize)]
struct StepResponse {
    steps: Vec<SlotStep>,
}

fn step_env(env: &mut VecEnv, request: StepRequest) -> Result<StepResponse, ServeError> {
    let actions = request.actions.into_iter().map(|entry| (entry.slot, Action::from(entry.action))).collect();
    let steps = env.step_some(actions)?;
    Ok(StepResponse { steps: steps.into_iter().map(|(slot, step)| SlotStep { slot, step }).collect() })
}

async fn step_batch(
    State(server): State<Shared>,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<StepRequest>,
) -> Result<Json<StepResponse>, ServeError> {
    server.with_batch(&id, |env| step_env(env, request)).map(Json)
}

#[derive(Serialize)]
struct TranscriptResponse {
    slot: usize,
    transcript: Transcript,
}

async fn transcript(
    State(server): State<Shared>,
    Path((id, slot)): Path<(String, String)>,
) -> Result<Json<TranscriptResponse>, ServeError> {
    server.with_batch(&id, |env| {
        let index: usize = slot.parse().map_err(|_| ServeError::BadSlot(slot.clone()))?;
        let transcript = env.transcript(index).ok_or(ServeError::BadSlot(slot))?.clone();
        Ok(Json(TranscriptResponse { slot: index, transcript }))
    })
}

async fn close_batch(State(server): State<Shared>, Path(id): Path<String>) -> Result<Json<Value>, ServeError> {
    let key: Option<u64> = id.parse().ok();
    let removed = key.and_then(|key| lock(&server.batches).remove(&key));
    match removed {
        Some(_) => Ok(Json(json!({ "closed": key }))),
        None => Err(ServeError::UnknownBatch(id)),
    }
}

async fn websocket(
    State(server): State<Shared>,
    Path(id): Path<String>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ServeError> {
    server.batch(&id)?;
    let upgrade = upgrade
        .map_err(|rejection| ServeError::Rejected { status: rejection.status(), message: rejection.body_text() })?;
    let limit = server.limits.max_body_bytes;
    let upgrade = upgrade.max_message_size(limit).max_frame_size(limit);
    Ok(upgrade.on_upgrade(move |socket| websocket_loop(server, id, socket)))
}

/// Answers each text message `{"actions": [...]}` with `{"steps": [...]}` or
/// `{"error": "..."}`, until the client closes the connection.
async fn websocket_loop(server: Shared, id: String, mut socket: WebSocket) {
    while let Some(Ok(message)) = socket.recv().await {
        let reply = match message {
            Message::Text(text) => websocket_reply(&server, &id, text.as_str().as_bytes()),
            Message::Binary(_) => ServeError::BadRequest("send text messages".into()).body(),
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        if socket.send(Message::Text(reply.to_string().into())).await.is_err() {
            break;
        }
    }
}

fn websocket_reply(server: &Server, id: &str, text: &[u8]) -> Value {
    let result =
        parse_json::<StepRequest>(text).and_then(|request| server.with_batch(id, |env| step_env(env, request)));
    match result.and_then(|response| serde_json::to_value(response).map_err(|e| ServeError::BadRequest(e.to_string())))
    {
        Ok(value) => value,
        Err(error) => error.body(),
    }
}

async fn no_route() -> ServeError {
    ServeError::NoRoute
}

/// The routes of a server over `server`.
pub fn router(server: Shared) -> Router {
    let limit = server.limits.max_body_bytes;
    Router::new()
        .route("/envs", get(list_envs))
        .route("/stats", get(stats))
        .route("/batches", axum::routing::post(create_batch))
        .route("/batches/{id}", axum::routing::delete(close_batch))
        .route("/batches/{id}/reset", axum::routing::post(reset_batch))
        .route("/batches/{id}/step", axum::routing::post(step_batch))
        .route("/batches/{id}/slots/{slot}/transcript", get(transcript))
        .route("/batches/{id}/ws", get(websocket))
        .merge(openenv::routes())
        .fallback(no_route)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(server)
}

/// Closes idle batches every so often, for as long as the server lives.
async fn reap_idle(server: Shared) {
    let period = (server.limits.idle_timeout / 4).clamp(Duration::from_millis(100), Duration::from_secs(30));
    let mut ticker = tokio::time::interval(period);
    loop {
        ticker.tick().await;
        server.close_idle();
    }
}

/// Binds `addr`, prints `listening on ADDR` (the bound address, so port 0 works) as the
/// first stdout line, and serves until the process ends.
///
/// # Errors
/// When the address cannot be bound or the server fails; [`crate::output::StdoutClosed`] when
/// standard output is closed before the first line.
pub async fn serve(addr: SocketAddr, registry: Registry, limits: Limits) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    crate::output::print_line(format_args!("listening on {bound}"))?;
    let server = Arc::new(Server::new(registry, limits));
    tokio::spawn(reap_idle(server.clone()));
    axum::serve(listener, router(server)).await?;
    Ok(())
}
