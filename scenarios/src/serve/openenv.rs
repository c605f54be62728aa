//! The OpenEnv protocol for every registered env, under `/openenv/{env_id}`: health, metadata,
//! schemas, an OpenAPI document, stateless or named HTTP episodes, and WebSocket sessions
//! with one env each. See `docs/integrations.md`.
//!
//! Invariants:
//! - A `seed` is never ignored: `reset` with seed `s` (and `episode_index` `i`, default 0)
//!   starts the same episode as the `i`-th of `scenarios --seed s`.
//! - Live sessions (WebSocket connections and named HTTP episodes) never exceed
//!   [`Limits::max_sessions`]; a connection beyond it is answered `CAPACITY_REACHED` and closed.
//! - A session idle for [`Limits::idle_timeout`] is closed, so a silent client cannot hold a
//!   slot forever.
//! - No message closes a session except `close`; each bad one gets an error message with one of
//!   the protocol's codes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sim_core::{Action, Env, EnvKind, GymEnv, Info, Registry, Transcript};

use super::{JsonBody, ServeError, Shared, lock};

/// Error codes of the OpenEnv WebSocket protocol.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum ErrorCode {
    InvalidJson,
    UnknownType,
    ValidationError,
    ExecutionError,
    CapacityReached,
    FactoryError,
    SessionError,
}

/// A protocol error: its code and a readable message.
#[derive(Debug)]
struct ProtocolError {
    code: ErrorCode,
    message: String,
}

impl ProtocolError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    /// The WebSocket message `{"type": "error", "data": {"message", "code"}}`.
    fn message(&self) -> Value {
        json!({ "type": "error", "data": { "message": self.message, "code": self.code } })
    }

    /// The HTTP form of the error.
    fn into_serve_error(self) -> ServeError {
        let status = match self.code {
            ErrorCode::InvalidJson | ErrorCode::UnknownType => StatusCode::BAD_REQUEST,
            ErrorCode::ValidationError => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::ExecutionError => StatusCode::CONFLICT,
            ErrorCode::CapacityReached => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::FactoryError | ErrorCode::SessionError => StatusCode::BAD_REQUEST,
        };
        ServeError::Rejected { status, message: self.message }
    }
}

/// The OpenEnv side of a server: the session count, the named HTTP episodes and the env kinds
/// of default configs (built once per env id; some envs build indexes when made).
#[derive(Default)]
pub(super) struct Sessions {
    live: AtomicUsize,
    named: Mutex<HashMap<NamedKey, Arc<Mutex<Named>>>>,
    kinds: Mutex<HashMap<String, Arc<dyn EnvKind>>>,
}

/// A named HTTP episode's key: the env id and the client's `episode_id`.
type NamedKey = (String, String);

/// A named HTTP episode and the capacity slot it holds.
struct Named {
    session: Session,
    _slot: SessionSlot,
}

/// One unit of [`Limits::max_sessions`], given back when dropped.
struct SessionSlot {
    server: Shared,
}

impl Drop for SessionSlot {
    fn drop(&mut self) {
        self.server.openenv.live.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Sessions {
    /// Takes one session slot, or says how many are live when none is free.
    fn acquire(server: &Shared) -> Result<SessionSlot, ProtocolError> {
        let max = server.limits.max_sessions;
        let live = &server.openenv.live;
        let mut current = live.load(Ordering::Acquire);
        loop {
            if current >= max {
                return Err(ProtocolError::new(
                    ErrorCode::CapacityReached,
                    format!("the server holds {current} OpenEnv sessions, its limit (--max-sessions {max}); close one"),
                ));
            }
            match live.compare_exchange(current, current + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Ok(SessionSlot { server: server.clone() }),
                Err(actual) => current = actual,
            }
        }
    }

    pub(super) fn live(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    /// Closes named HTTP episodes idle for longer than the server's idle timeout.
    pub(super) fn close_idle(&self, timeout: std::time::Duration) -> usize {
        let mut named = lock(&self.named);
        let before = named.len();
        named.retain(|_, entry| lock(entry).session.last_used.elapsed() < timeout);
        before - named.len()
    }

    fn kind(&self, registry: &Registry, env_id: &str, config: Option<&str>) -> Result<Arc<dyn EnvKind>, ProtocolError> {
        let make = |config| {
            registry.make(env_id, config).map_err(|error| {
                ProtocolError::new(ErrorCode::ValidationError, format!("cannot make `{env_id}`: {error}"))
            })
        };
        if config.is_some() {
            return make(config);
        }
        if let Some(kind) = lock(&self.kinds).get(env_id) {
            return Ok(kind.clone());
        }
        let kind = make(None)?;
        lock(&self.kinds).insert(env_id.to_owned(), kind.clone());
        Ok(kind)
    }
}

/// The `data` of a reset: every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetData {
    /// The scenario seed; absent: the session's current seed (0 at first).
    seed: Option<u64>,
    /// Which episode of that seed; absent: 0 with a seed, the next one without.
    episode_index: Option<u64>,
    /// A label for the episode, reported in the state.
    episode_id: Option<String>,
    /// The env's config as RON text; absent: the default config.
    config: Option<String>,
}

/// The `data` of a step: the agent's message (OpenEnv's `metadata` is accepted and unused).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepData {
    message: String,
    #[serde(default)]
    #[allow(dead_code, reason = "accepted for OpenEnv's Action base class; lm-gym does not use it")]
    metadata: Option<Value>,
}

/// The observation part of an answer. Typed, so the transcript keeps the field order of
/// trajectories.jsonl (`speaker`, `kind`, `text`).
#[derive(Debug, Serialize)]
struct Observation {
    text: String,
    transcript: Transcript,
    terminated: bool,
    truncated: bool,
    info: Info,
}

/// The answer to a reset or a step: OpenEnv's `{"observation", "reward", "done"}`.
#[derive(Debug, Serialize)]
struct Answer {
    observation: Observation,
    reward: Option<f64>,
    done: bool,
}

/// A WebSocket message from the server: `{"type", "data"}`.
#[derive(Serialize)]
struct Envelope<T> {
    #[serde(rename = "type")]
    kind: &'static str,
    data: T,
}

fn to_text(value: &impl Serialize) -> String {
    // Serialising these plain structs cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

/// One env episode as OpenEnv sees it: the env, its seed and episode, and the running totals
/// reported by `state`.
struct Session {
    env_id: String,
    config: Option<String>,
    env: GymEnv,
    seed: u64,
    episode_index: Option<u64>,
    episode_id: Option<String>,
    step_count: u32,
    episode_return: f64,
    done: bool,
    last_used: Instant,
}

impl Session {
    fn new(env_id: &str, kind: Arc<dyn EnvKind>, max_action_bytes: usize) -> Self {
        Self {
            env_id: env_id.to_owned(),
            config: None,
            env: GymEnv::new(kind).with_max_action_bytes(max_action_bytes),
            seed: 0,
            episode_index: None,
            episode_id: None,
            step_count: 0,
            episode_return: 0.0,
            done: false,
            last_used: Instant::now(),
        }
    }

    /// Starts the episode `data` names and answers with its opening observation.
    fn reset(&mut self, data: ResetData, server: &Shared) -> Result<Answer, ProtocolError> {
        if data.config != self.config {
            let kind = server.openenv.kind(&server.registry, &self.env_id, data.config.as_deref())?;
            self.env = GymEnv::new(kind).with_max_action_bytes(server.limits.max_action_bytes);
            self.config = data.config;
        }
        let index = match (data.seed, data.episode_index, self.episode_index) {
            (_, Some(index), _) => index,
            (Some(_), None, _) => 0,
            (None, None, Some(previous)) => previous + 1,
            (None, None, None) => 0,
        };
        self.seed = data.seed.unwrap_or(self.seed);
        self.episode_index = Some(index);
        self.episode_id = data.episode_id;
        self.step_count = 0;
        self.episode_return = 0.0;
        self.done = false;
        let reset = self.env.reset_episode(self.seed, index);
        let observation = Observation {
            text: reset.observation.into_owned(),
            transcript: self.env.transcript().cloned().unwrap_or_default(),
            terminated: false,
            truncated: false,
            info: reset.info,
        };
        Ok(Answer { observation, reward: None, done: false })
    }

    /// Applies one message and answers with the observation, reward and end flag.
    fn step(&mut self, data: StepData) -> Result<Answer, ProtocolError> {
        if self.episode_index.is_none() {
            return Err(ProtocolError::new(ErrorCode::ExecutionError, "no episode yet: send `reset` first"));
        }
        if self.done {
            return Err(ProtocolError::new(
                ErrorCode::ExecutionError,
                "the episode is over: send `reset` to start another",
            ));
        }
        let step = self
            .env
            .try_step(Action::from(data.message))
            .map_err(|error| ProtocolError::new(ErrorCode::ExecutionError, error.to_string()))?;
        self.step_count += 1;
        self.episode_return += step.reward;
        self.done = step.done();
        let observation = Observation {
            text: step.observation.into_owned(),
            transcript: self.env.transcript().cloned().unwrap_or_default(),
            terminated: step.terminated,
            truncated: step.truncated,
            info: step.info,
        };
        Ok(Answer { observation, reward: Some(step.reward), done: self.done })
    }

    fn state(&self) -> Value {
        json!({
            "episode_id": self.episode_id,
            "step_count": self.step_count,
            "env_id": self.env_id,
            "config": self.config,
            "seed": self.seed,
            "episode_index": self.episode_index,
            "episode_return": self.episode_return,
            "done": self.done,
        })
    }

    /// Answers one WebSocket text message; `None` for `close`.
    fn answer(&mut self, text: &str, server: &Shared) -> Option<String> {
        self.last_used = Instant::now();
        match self.dispatch(text, server) {
            Ok(reply) => reply,
            Err(error) => Some(error.message().to_string()),
        }
    }

    fn dispatch(&mut self, text: &str, server: &Shared) -> Result<Option<String>, ProtocolError> {
        let message: Value = serde_json::from_str(text)
            .map_err(|error| ProtocolError::new(ErrorCode::InvalidJson, format!("invalid JSON: {error}")))?;
        let Value::Object(mut fields) = message else {
            return Err(ProtocolError::new(ErrorCode::ValidationError, "a message is a JSON object with a `type`"));
        };
        let kind = match fields.remove("type") {
            Some(Value::String(kind)) => kind,
            _ => String::new(),
        };
        let data = fields.remove("data");
        if let Some(extra) = fields.keys().next() {
            return Err(ProtocolError::new(
                ErrorCode::ValidationError,
                format!("unknown field `{extra}`: a message has `type` and `data`"),
            ));
        }
        match kind.as_str() {
            "reset" => {
                let data = match data {
                    None | Some(Value::Null) => ResetData::default(),
                    Some(data) => parse_data(data, "reset")?,
                };
                self.reset(data, server).map(|answer| Some(observation(&answer)))
            }
            "step" => {
                let data = data.ok_or_else(|| {
                    ProtocolError::new(ErrorCode::ValidationError, "a step needs `data`: {\"message\": \"...\"}")
                })?;
                self.step(parse_data(data, "step")?).map(|answer| Some(observation(&answer)))
            }
            "state" => Ok(Some(to_text(&Envelope { kind: "state", data: self.state() }))),
            "close" => Ok(None),
            other => Err(ProtocolError::new(
                ErrorCode::UnknownType,
                format!("unknown message type `{other}`: expected reset, step, state or close"),
            )),
        }
    }
}

fn observation(answer: &Answer) -> String {
    to_text(&Envelope { kind: "observation", data: answer })
}

/// Reads a message's `data`.
fn parse_data<T: serde::de::DeserializeOwned>(data: Value, what: &str) -> Result<T, ProtocolError> {
    serde_json::from_value(data)
        .map_err(|error| ProtocolError::new(ErrorCode::ValidationError, format!("invalid {what} data: {error}")))
}

fn known_env(server: &Shared, env_id: &str) -> Result<(), ServeError> {
    if server.registry.contains(env_id) {
        Ok(())
    } else {
        Err(ServeError::Rejected {
            status: StatusCode::NOT_FOUND,
            message: format!("no env `{env_id}`; GET /envs lists them"),
        })
    }
}

async fn health(State(server): State<Shared>, Path(env_id): Path<String>) -> Result<Json<Value>, ServeError> {
    known_env(&server, &env_id)?;
    Ok(Json(json!({ "status": "healthy" })))
}

async fn metadata(State(server): State<Shared>, Path(env_id): Path<String>) -> Result<Json<Value>, ServeError> {
    let kind = server.openenv.kind(&server.registry, &env_id, None).map_err(|_| missing_env(&env_id))?;
    let spec = kind.spec();
    Ok(Json(json!({
        "name": env_id,
        "description": spec.description,
        "readme_content": null,
        "version": env!("CARGO_PKG_VERSION"),
        "author": "lm-gym",
        "documentation_url": format!("docs/envs/ (the page of {env_id})"),
        "max_turns": spec.max_turns,
        "reward_range": spec.reward_range,
    })))
}

fn missing_env(env_id: &str) -> ServeError {
    ServeError::Rejected { status: StatusCode::NOT_FOUND, message: format!("no env `{env_id}`; GET /envs lists them") }
}

/// JSON Schemas of the action, observation and state.
fn schemas() -> Value {
    json!({
        "action": {
            "title": "Action",
            "type": "object",
            "properties": {
                "message": { "type": "string", "description": "The agent's message: any text; text the env cannot understand gets its penalty" },
                "metadata": { "type": "object", "description": "Accepted and unused" },
            },
            "required": ["message"],
            "additionalProperties": false,
        },
        "observation": {
            "title": "Observation",
            "type": "object",
            "properties": {
                "text": { "type": "string", "description": "The env's reply (the opening prompt after reset)" },
                "transcript": {
                    "type": "array",
                    "description": "The episode so far, as `scenarios` writes it in trajectories.jsonl",
                    "items": {
                        "type": "object",
                        "properties": {
                            "speaker": { "type": "string", "enum": ["env", "agent"] },
                            "kind": { "type": "string" },
                            "text": { "type": "string" },
                        },
                    },
                },
                "terminated": { "type": "boolean" },
                "truncated": { "type": "boolean" },
                "info": {
                    "type": "object",
                    "properties": {
                        "episode": { "type": "integer" },
                        "turn": { "type": "integer" },
                        "invalid_action": { "type": "boolean" },
                        "success": { "type": "boolean" },
                    },
                },
            },
            "required": ["text", "transcript", "terminated", "truncated", "info"],
        },
        "state": {
            "title": "State",
            "type": "object",
            "properties": {
                "episode_id": { "type": ["string", "null"] },
                "step_count": { "type": "integer" },
                "env_id": { "type": "string" },
                "config": { "type": ["string", "null"] },
                "seed": { "type": "integer" },
                "episode_index": { "type": ["integer", "null"] },
                "episode_return": { "type": "number" },
                "done": { "type": "boolean" },
            },
        },
    })
}

async fn schema(State(server): State<Shared>, Path(env_id): Path<String>) -> Result<Json<Value>, ServeError> {
    known_env(&server, &env_id)?;
    Ok(Json(schemas()))
}

/// A small OpenAPI document: the version and the HTTP paths, which OpenEnv's runtime
/// validator reads to tell a simulation server (reset, step, state) from a production one.
async fn openapi(State(server): State<Shared>, Path(env_id): Path<String>) -> Result<Json<Value>, ServeError> {
    known_env(&server, &env_id)?;
    let schemas = schemas();
    let json_body = |schema: Value| json!({ "content": { "application/json": { "schema": schema } } });
    let answer = json_body(json!({
        "type": "object",
        "properties": { "observation": schemas["observation"], "reward": { "type": ["number", "null"] }, "done": { "type": "boolean" } },
    }));
    Ok(Json(json!({
        "openapi": "3.1.0",
        "info": { "title": format!("lm-gym {env_id}"), "version": "1.0.0" },
        "paths": {
            "/health": { "get": { "responses": { "200": json_body(json!({ "type": "object" })) } } },
            "/metadata": { "get": { "responses": { "200": json_body(json!({ "type": "object" })) } } },
            "/schema": { "get": { "responses": { "200": json_body(json!({ "type": "object" })) } } },
            "/state": { "get": { "responses": { "200": json_body(schemas["state"].clone()) } } },
            "/reset": { "post": { "requestBody": json_body(json!({ "type": "object" })), "responses": { "200": answer.clone() } } },
            "/step": { "post": { "requestBody": json_body(json!({ "type": "object", "properties": { "action": schemas["action"] }, "required": ["action"] })), "responses": { "200": answer } } },
            "/mcp": { "post": { "responses": { "200": json_body(json!({ "type": "object" })) } } },
        },
    })))
}

/// MCP is not offered: every JSON-RPC request gets "method not found" (the endpoint exists
/// so that OpenEnv clients probing it get a JSON-RPC answer, not a 404).
async fn mcp(
    State(server): State<Shared>,
    Path(env_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ServeError> {
    known_env(&server, &env_id)?;
    let id = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|request| request.get("id").cloned())
        .unwrap_or(Value::Null);
    Ok(Json(json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": -32601, "message": "lm-gym envs offer no MCP tools: play over /ws or /reset and /step" },
    })))
}

/// `POST /reset`: with an `episode_id`, a named episode that later `/step` and `/state`
/// calls continue; without, a one-off episode that is only reported.
async fn http_reset(
    State(server): State<Shared>,
    Path(env_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Answer>, ServeError> {
    known_env(&server, &env_id)?;
    let data: ResetData = if body.iter().all(u8::is_ascii_whitespace) {
        ResetData::default()
    } else {
        serde_json::from_slice::<ResetData>(&body).map_err(|error| ServeError::Rejected {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: format!("invalid reset: {error}"),
        })?
    };
    let kind = server.openenv.kind(&server.registry, &env_id, None).map_err(ProtocolError::into_serve_error)?;
    let mut session = Session::new(&env_id, kind, server.limits.max_action_bytes);
    let Some(episode_id) = data.episode_id.clone() else {
        return session.reset(data, &server).map(Json).map_err(ProtocolError::into_serve_error);
    };
    let key = (env_id.clone(), episode_id);
    let existing = lock(&server.openenv.named).get(&key).cloned();
    if let Some(existing) = existing {
        let mut named = lock(&existing);
        return named.session.reset(data, &server).map(Json).map_err(ProtocolError::into_serve_error);
    }
    let slot = Sessions::acquire(&server).map_err(ProtocolError::into_serve_error)?;
    let answer = session.reset(data, &server).map_err(ProtocolError::into_serve_error)?;
    lock(&server.openenv.named).insert(key, Arc::new(Mutex::new(Named { session, _slot: slot })));
    Ok(Json(answer))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpStep {
    action: StepData,
    #[serde(default)]
    episode_id: Option<String>,
    #[serde(default)]
    #[allow(dead_code, reason = "part of OpenEnv's step request; env steps take microseconds")]
    timeout_s: Option<f64>,
    #[serde(default)]
    #[allow(dead_code, reason = "part of OpenEnv's step request; not recorded")]
    request_id: Option<String>,
}

/// `POST /step`: steps the named episode, or (without `episode_id`, as OpenEnv's reference
/// server does) a fresh episode 0 of seed 0.
async fn http_step(
    State(server): State<Shared>,
    Path(env_id): Path<String>,
    JsonBody(request): JsonBody<HttpStep>,
) -> Result<Json<Answer>, ServeError> {
    known_env(&server, &env_id)?;
    let Some(episode_id) = request.episode_id else {
        let kind = server.openenv.kind(&server.registry, &env_id, None).map_err(ProtocolError::into_serve_error)?;
        let mut session = Session::new(&env_id, kind, server.limits.max_action_bytes);
        session.reset(ResetData::default(), &server).map_err(ProtocolError::into_serve_error)?;
        return session.step(request.action).map(Json).map_err(ProtocolError::into_serve_error);
    };
    let named = named(&server, &env_id, &episode_id)?;
    let mut named = lock(&named);
    named.session.last_used = Instant::now();
    named.session.step(request.action).map(Json).map_err(ProtocolError::into_serve_error)
}

fn named(server: &Shared, env_id: &str, episode_id: &str) -> Result<Arc<Mutex<Named>>, ServeError> {
    lock(&server.openenv.named).get(&(env_id.to_owned(), episode_id.to_owned())).cloned().ok_or_else(|| {
        ServeError::Rejected {
            status: StatusCode::NOT_FOUND,
            message: format!(
                "no live episode `{episode_id}` of `{env_id}`: reset it with that episode_id (idle ones are closed)"
            ),
        }
    })
}

#[derive(Debug, Deserialize)]
struct StateQuery {
    episode_id: Option<String>,
}

async fn http_state(
    State(server): State<Shared>,
    Path(env_id): Path<String>,
    Query(query): Query<StateQuery>,
) -> Result<Json<Value>, ServeError> {
    known_env(&server, &env_id)?;
    match query.episode_id {
        Some(episode_id) => {
            let named = named(&server, &env_id, &episode_id)?;
            let named = lock(&named);
            Ok(Json(named.session.state()))
        }
        None => {
            let kind = server.openenv.kind(&server.registry, &env_id, None).map_err(ProtocolError::into_serve_error)?;
            Ok(Json(Session::new(&env_id, kind, server.limits.max_action_bytes).state()))
        }
    }
}

async fn websocket(
    State(server): State<Shared>,
    Path(env_id): Path<String>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<axum::response::Response, ServeError> {
    known_env(&server, &env_id)?;
    let upgrade = upgrade
        .map_err(|rejection| ServeError::Rejected { status: rejection.status(), message: rejection.body_text() })?;
    let limit = server.limits.max_body_bytes;
    let upgrade = upgrade.max_message_size(limit).max_frame_size(limit);
    Ok(upgrade.on_upgrade(move |socket| session_loop(server, env_id, socket)))
}

/// One WebSocket session: a slot, an env, and the message loop until `close`, a closed
/// connection or the idle timeout.
async fn session_loop(server: Shared, env_id: String, mut socket: WebSocket) {
    let opened = Sessions::acquire(&server).and_then(|slot| {
        let kind = server
            .openenv
            .kind(&server.registry, &env_id, None)
            .map_err(|error| ProtocolError { code: ErrorCode::FactoryError, ..error })?;
        Ok((slot, Session::new(&env_id, kind, server.limits.max_action_bytes)))
    });
    let (_slot, mut session) = match opened {
        Ok(opened) => opened,
        Err(error) => {
            let _ = socket.send(Message::Text(error.message().to_string().into())).await;
            let _ = socket.send(Message::Close(None)).await;
            return;
        }
    };
    let idle = server.limits.idle_timeout;
    loop {
        let received = match tokio::time::timeout(idle, socket.recv()).await {
            Ok(Some(Ok(message))) => message,
            Ok(_) => return,
            Err(_) => {
                let error = ProtocolError::new(
                    ErrorCode::SessionError,
                    format!("the session was idle for {} s and is closed", idle.as_secs_f64()),
                );
                let _ = socket.send(Message::Text(error.message().to_string().into())).await;
                break;
            }
        };
        let reply = match received {
            Message::Text(text) => session.answer(text.as_str(), &server),
            Message::Binary(_) => {
                Some(ProtocolError::new(ErrorCode::InvalidJson, "send JSON as text messages").message().to_string())
            }
            Message::Close(_) => return,
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        let Some(reply) = reply else { break };
        if socket.send(Message::Text(reply.into())).await.is_err() {
            return;
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}

/// The OpenEnv routes of every env, under `/openenv/{env_id}`.
pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/openenv/{env_id}/health", get(health))
        .route("/openenv/{env_id}/metadata", get(metadata))
        .route("/openenv/{env_id}/schema", get(schema))
        .route("/openenv/{env_id}/openapi.json", get(openapi))
        .route("/openenv/{env_id}/mcp", post(mcp))
        .route("/openenv/{env_id}/reset", post(http_reset))
        .route("/openenv/{env_id}/step", post(http_step))
        .route("/openenv/{env_id}/state", get(http_state))
        .route("/openenv/{env_id}/ws", get(websocket))
}
