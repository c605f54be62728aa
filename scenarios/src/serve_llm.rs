//! `scenarios serve-llm`: an OpenAI-compatible chat completion endpoint over the gym's candle
//! model, with continuous batching ([`agents_llm::generate`]). See `docs/integrations.md`.
//!
//! Handlers parse and check a request, render its messages with the ChatML template, tokenise
//! and hand it to the one scheduler thread, which decodes every running request together and
//! calls back with the choices. Invariants: no input makes a handler panic; every failure is a
//! 4xx with an OpenAI-style body `{"error": {"message", "type", "param", "code"}}`; at most
//! [`Limits::max_requests`] requests are in flight (queued or decoding), more get 429; a
//! request whose client went away is dropped from the batch at the next step; nothing in a
//! response comes from the clock (`created` is 0, ids count requests).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use agents_llm::generate::{Choice, GenerateError, Generation, GenerationRequest, Generator, GeneratorLimits};
use agents_llm::template::render_chat;
use agents_llm::{LanguageModel, Sampling, tokenizer};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use thiserror::Error;

/// Resource limits of the endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest accepted request body, in bytes (larger: 413).
    pub max_body_bytes: usize,
    /// Most sequences (choices of all requests) decoded in one forward pass.
    pub max_sequences: usize,
    /// Most requests in flight, queued or decoding (more: 429).
    pub max_requests: usize,
    /// Largest `max_tokens` a request may ask for; also the default.
    pub max_tokens: usize,
    /// Time allowed to receive a request body (longer: 408).
    pub body_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 20,
            max_sequences: 64,
            max_requests: 256,
            max_tokens: 1024,
            body_timeout: Duration::from_secs(30),
        }
    }
}

/// The most `top_logprobs` a request may ask for (OpenAI's limit).
const MAX_TOP_LOGPROBS: usize = 20;
/// The most stop texts of one request.
const MAX_STOPS: usize = 16;
/// A log-probability too small for a JSON number (minus infinity) is reported as this, as
/// OpenAI does.
const LOGPROB_FLOOR: f32 = -9999.0;

/// Why a request failed: an OpenAI-style error with its HTTP status.
#[derive(Debug, Error)]
#[error("{message}")]
pub struct ApiError {
    status: StatusCode,
    message: String,
    kind: &'static str,
    param: Option<&'static str>,
    code: Option<&'static str>,
}

impl ApiError {
    fn invalid(param: Option<&'static str>, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            kind: "invalid_request_error",
            param,
            code: None,
        }
    }

    fn unsupported(param: &'static str, message: impl Into<String>) -> Self {
        Self { code: Some("unsupported_parameter"), ..Self::invalid(Some(param), message) }
    }

    fn status(status: StatusCode, kind: &'static str, code: Option<&'static str>, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), kind, param: None, code }
    }

    fn body(&self) -> Value {
        json!({"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}})
    }
}

impl From<GenerateError> for ApiError {
    fn from(error: GenerateError) -> Self {
        match error {
            GenerateError::ContextLength { .. } => {
                Self { code: Some("context_length_exceeded"), ..Self::invalid(Some("messages"), error.to_string()) }
            }
            GenerateError::Choices { .. } => Self::invalid(Some("n"), error.to_string()),
            GenerateError::NoTokens => Self::invalid(Some("max_tokens"), error.to_string()),
            GenerateError::EmptyPrompt => Self::invalid(Some("messages"), error.to_string()),
            GenerateError::Model(_) | GenerateError::Stopped => Self::status(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                None,
                format!("generation failed: {error}"),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

/// The shared state: the generator, the served model's id and the counters.
pub struct Endpoint {
    generator: Generator,
    model_id: String,
    limits: Limits,
    in_flight: AtomicUsize,
    /// Numbers the completion ids (`chatcmpl-N`).
    next_id: AtomicU64,
    /// The seed of the next request that brings none.
    next_unseeded: AtomicU64,
    rejected_busy: AtomicU64,
}

impl Endpoint {
    pub fn new(model: Arc<LanguageModel>, model_id: String, limits: Limits) -> Self {
        let generator = Generator::start(model, GeneratorLimits { max_sequences: limits.max_sequences });
        Self {
            generator,
            model_id,
            limits,
            in_flight: AtomicUsize::new(0),
            next_id: AtomicU64::new(0),
            next_unseeded: AtomicU64::new(0),
            rejected_busy: AtomicU64::new(0),
        }
    }
}

type Shared = Arc<Endpoint>;

/// A JSON request body read within the body timeout; every rejection is an [`ApiError`].
struct JsonBody<T>(T);

impl<T: DeserializeOwned> FromRequest<Shared> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &Shared) -> Result<Self, Self::Rejection> {
        let bytes = tokio::time::timeout(state.limits.body_timeout, Bytes::from_request(request, state))
            .await
            .map_err(|_| {
                ApiError::status(StatusCode::REQUEST_TIMEOUT, "invalid_request_error", None, "request body timed out")
            })?
            .map_err(|rejection| {
                ApiError::status(rejection.status(), "invalid_request_error", None, rejection.body_text())
            })?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|error| ApiError::invalid(None, format!("invalid JSON body: {error}")))
    }
}

/// `POST /v1/chat/completions`. Fields the endpoint does not know are ignored (`model` among
/// them: the one model serves any name); the ones it knows but cannot honour are refused when
/// set to anything but their neutral value.
#[derive(Debug, Deserialize)]
pub struct ChatRequest {
    pub messages: Vec<Value>,
    #[serde(default)]
    pub temperature: Option<f32>,
    #[serde(default)]
    pub top_p: Option<f32>,
    #[serde(default)]
    pub max_tokens: Option<u64>,
    #[serde(default)]
    pub max_completion_tokens: Option<u64>,
    #[serde(default)]
    pub stop: Option<Value>,
    #[serde(default)]
    pub seed: Option<serde_json::Number>,
    #[serde(default)]
    pub n: Option<u64>,
    #[serde(default)]
    pub logprobs: Option<bool>,
    #[serde(default)]
    pub top_logprobs: Option<u64>,
    #[serde(default)]
    pub stream: Option<bool>,
    #[serde(default)]
    pub return_token_ids: Option<bool>,
    #[serde(default)]
    pub frequency_penalty: Option<f32>,
    #[serde(default)]
    pub presence_penalty: Option<f32>,
    #[serde(default)]
    pub logit_bias: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    pub tools: Option<Vec<Value>>,
    #[serde(default)]
    pub response_format: Option<Value>,
}

/// A checked request, before tokenisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// `(role, content)` in order; `developer` is rendered as `system`.
    pub messages: Vec<(String, String)>,
    pub sampling: Sampling,
    pub max_tokens: Option<usize>,
    pub stop: Vec<String>,
    pub seed: Option<u64>,
    pub choices: usize,
    pub top_logprobs: Option<usize>,
    pub return_token_ids: bool,
}

fn message_content(index: usize, content: Option<&Value>) -> Result<String, ApiError> {
    let param = Some("messages");
    match content {
        Some(Value::String(text)) => Ok(text.clone()),
        Some(Value::Array(parts)) => {
            let mut text = String::new();
            for part in parts {
                match (part.get("type").and_then(Value::as_str), part.get("text").and_then(Value::as_str)) {
                    (Some("text"), Some(piece)) => text.push_str(piece),
                    _ => {
                        return Err(ApiError::invalid(
                            param,
                            format!(
                                "messages[{index}]: only {{\"type\": \"text\", \"text\": ...}} content parts are supported"
                            ),
                        ));
                    }
                }
            }
            Ok(text)
        }
        _ => {
            Err(ApiError::invalid(param, format!("messages[{index}].content must be a string or a list of text parts")))
        }
    }
}

/// Checks a request against the endpoint's limits and what it supports.
///
/// # Errors
/// Every refusal names the parameter at fault.
pub fn check(request: &ChatRequest, limits: &Limits) -> Result<Checked, ApiError> {
    if request.stream == Some(true) {
        return Err(ApiError::unsupported(
            "stream",
            "stream is not supported: send the request without `stream: true`",
        ));
    }
    if request.messages.is_empty() {
        return Err(ApiError::invalid(Some("messages"), "messages must not be empty"));
    }
    let mut messages = Vec::with_capacity(request.messages.len());
    for (index, message) in request.messages.iter().enumerate() {
        let role = match message.get("role").and_then(Value::as_str) {
            Some(role @ ("system" | "user" | "assistant")) => role,
            Some("developer") => "system",
            Some(other) => {
                return Err(ApiError::invalid(
                    Some("messages"),
                    format!("messages[{index}].role `{other}` is not supported (system, developer, user, assistant)"),
                ));
            }
            None => return Err(ApiError::invalid(Some("messages"), format!("messages[{index}] has no role"))),
        };
        if message.get("tool_calls").is_some_and(|calls| !calls.is_null()) {
            return Err(ApiError::unsupported("messages", format!("messages[{index}]: tool calls are not supported")));
        }
        messages.push((role.to_owned(), message_content(index, message.get("content"))?));
    }
    let temperature = request.temperature.unwrap_or(1.0);
    if !(0.0..=2.0).contains(&temperature) {
        return Err(ApiError::invalid(
            Some("temperature"),
            format!("temperature must be in [0, 2], got {temperature}"),
        ));
    }
    let top_p = request.top_p.unwrap_or(1.0);
    if !(top_p > 0.0 && top_p <= 1.0) {
        return Err(ApiError::invalid(Some("top_p"), format!("top_p must be in (0, 1], got {top_p}")));
    }
    let (max_tokens, param) = match (request.max_completion_tokens, request.max_tokens) {
        (Some(tokens), _) => (Some(tokens), "max_completion_tokens"),
        (None, tokens) => (tokens, "max_tokens"),
    };
    if let Some(tokens) = max_tokens
        && (tokens == 0 || tokens > limits.max_tokens as u64)
    {
        return Err(ApiError::invalid(
            Some(param),
            format!("{param} must be between 1 and the server's limit of {}, got {tokens}", limits.max_tokens),
        ));
    }
    let stop = match &request.stop {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(stop)) => vec![stop.clone()],
        Some(Value::Array(stops)) => stops
            .iter()
            .map(|stop| stop.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ApiError::invalid(Some("stop"), "stop must be a string or a list of strings"))?,
        Some(_) => return Err(ApiError::invalid(Some("stop"), "stop must be a string or a list of strings")),
    };
    if stop.len() > MAX_STOPS || stop.iter().any(String::is_empty) {
        return Err(ApiError::invalid(Some("stop"), format!("stop takes 1 to {MAX_STOPS} non-empty strings")));
    }
    let seed = match &request.seed {
        None => None,
        Some(seed) => Some(seed.as_u64().ok_or_else(|| {
            ApiError::invalid(Some("seed"), format!("seed must be an integer in [0, 2^64), got {seed}"))
        })?),
    };
    let choices = request.n.unwrap_or(1);
    if choices == 0 || choices > limits.max_sequences as u64 {
        return Err(ApiError::invalid(
            Some("n"),
            format!("n must be between 1 and the server's batch of {}, got {choices}", limits.max_sequences),
        ));
    }
    let top_logprobs = match (request.logprobs.unwrap_or(false), request.top_logprobs) {
        (false, Some(_)) => {
            return Err(ApiError::invalid(Some("top_logprobs"), "top_logprobs needs `logprobs: true`"));
        }
        (false, None) => None,
        (true, k) => {
            let k = k.unwrap_or(0);
            if k > MAX_TOP_LOGPROBS as u64 {
                return Err(ApiError::invalid(
                    Some("top_logprobs"),
                    format!("top_logprobs must be between 0 and {MAX_TOP_LOGPROBS}, got {k}"),
                ));
            }
            Some(k as usize)
        }
    };
    if request.frequency_penalty.is_some_and(|p| p != 0.0) {
        return Err(ApiError::unsupported("frequency_penalty", "frequency_penalty is not supported"));
    }
    if request.presence_penalty.is_some_and(|p| p != 0.0) {
        return Err(ApiError::unsupported("presence_penalty", "presence_penalty is not supported"));
    }
    if request.logit_bias.as_ref().is_some_and(|bias| !bias.is_empty()) {
        return Err(ApiError::unsupported("logit_bias", "logit_bias is not supported"));
    }
    if request.tools.as_ref().is_some_and(|tools| !tools.is_empty()) {
        return Err(ApiError::unsupported("tools", "tools are not supported"));
    }
    if let Some(format) = &request.response_format
        && !format.is_null()
        && format.get("type").and_then(Value::as_str) != Some("text")
    {
        return Err(ApiError::unsupported("response_format", "only the `text` response format is supported"));
    }
    Ok(Checked {
        messages,
        sampling: Sampling { temperature, top_p },
        max_tokens: max_tokens.map(|tokens| tokens as usize),
        stop,
        seed,
        choices: choices as usize,
        top_logprobs,
        return_token_ids: request.return_token_ids.unwrap_or(false),
    })
}

/// Marks a request in flight; on drop, counts it out and, if no answer was sent (the client
/// went away), cancels it in the scheduler.
struct InFlight {
    endpoint: Shared,
    cancelled: Arc<AtomicBool>,
    answered: bool,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if !self.answered {
            self.cancelled.store(true, Ordering::Relaxed);
        }
        self.endpoint.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

fn admit(endpoint: &Shared) -> Result<InFlight, ApiError> {
    let max = endpoint.limits.max_requests;
    let admitted = endpoint
        .in_flight
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |live| (live < max).then_some(live + 1))
        .is_ok();
    if !admitted {
        endpoint.rejected_busy.fetch_add(1, Ordering::Relaxed);
        return Err(ApiError::status(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            Some("rate_limit_exceeded"),
            format!("the server has {max} requests in flight, its limit; retry later"),
        ));
    }
    Ok(InFlight { endpoint: Arc::clone(endpoint), cancelled: Arc::new(AtomicBool::new(false)), answered: false })
}

fn logprob_value(logprob: f32) -> f32 {
    if logprob.is_finite() { logprob } else { LOGPROB_FLOOR }
}

fn token_entry(model: &LanguageModel, token: u32, logprob: f32) -> serde_json::Map<String, Value> {
    let bytes = tokenizer::token_bytes(&model.tokenizer, token);
    let mut entry = serde_json::Map::new();
    entry.insert("token".into(), Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    entry.insert("logprob".into(), json!(logprob_value(logprob)));
    entry.insert("bytes".into(), json!(bytes));
    entry
}

fn choice_json(model: &LanguageModel, index: usize, choice: &Choice, checked: &Checked) -> Value {
    let logprobs = checked.top_logprobs.map(|_| {
        let content: Vec<Value> = choice
            .token_ids
            .iter()
            .zip(&choice.logprobs)
            .enumerate()
            .map(|(at, (&token, &logprob))| {
                let mut entry = token_entry(model, token, logprob);
                let top: Vec<Value> = choice
                    .top_logprobs
                    .get(at)
                    .map(|top| top.iter().map(|&(id, lp)| Value::Object(token_entry(model, id, lp))).collect())
                    .unwrap_or_default();
                entry.insert("top_logprobs".into(), Value::Array(top));
                Value::Object(entry)
            })
            .collect();
        json!({"content": content, "refusal": null})
    });
    let mut value = json!({
        "index": index,
        "message": {"role": "assistant", "content": choice.text, "refusal": null},
        "finish_reason": choice.finish_reason,
        "logprobs": logprobs,
    });
    if checked.return_token_ids {
        value["token_ids"] = json!(choice.token_ids);
    }
    value
}

fn completion_json(
    endpoint: &Endpoint,
    id: u64,
    seed: u64,
    checked: &Checked,
    prompt: &[u32],
    generation: &Generation,
) -> Value {
    let model = endpoint.generator.model();
    let completion_tokens: usize = generation.choices.iter().map(|choice| choice.token_ids.len()).sum();
    let choices: Vec<Value> = generation
        .choices
        .iter()
        .enumerate()
        .map(|(index, choice)| choice_json(model, index, choice, checked))
        .collect();
    let mut value = json!({
        "id": format!("chatcmpl-{id}"),
        "object": "chat.completion",
        "created": 0,
        "model": endpoint.model_id,
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt.len(),
            "completion_tokens": completion_tokens,
            "total_tokens": prompt.len() + completion_tokens,
        },
        "seed": seed,
    });
    if checked.return_token_ids {
        value["prompt_token_ids"] = json!(prompt);
    }
    value
}

async fn chat_completions(
    State(endpoint): State<Shared>,
    JsonBody(request): JsonBody<ChatRequest>,
) -> Result<Json<Value>, ApiError> {
    let checked = check(&request, &endpoint.limits)?;
    let model = endpoint.generator.model();
    let text = render_chat(checked.messages.iter().map(|(role, content)| (role.as_str(), content.as_str())));
    let prompt = tokenizer::encode(&model.tokenizer, &text)
        .map_err(|error| ApiError::invalid(Some("messages"), format!("cannot tokenise the messages: {error}")))?;
    let context = model.model.config().max_positions;
    if prompt.len() >= context {
        return Err(GenerateError::ContextLength { prompt: prompt.len(), max_tokens: 1, context }.into());
    }
    let max_tokens = checked.max_tokens.unwrap_or_else(|| endpoint.limits.max_tokens.min(context + 1 - prompt.len()));
    let seed = checked.seed.unwrap_or_else(|| endpoint.next_unseeded.fetch_add(1, Ordering::Relaxed));
    let generation_request = GenerationRequest {
        prompt,
        choices: checked.choices,
        sampling: checked.sampling,
        max_tokens,
        stop: checked.stop.clone(),
        seed,
        top_logprobs: checked.top_logprobs,
    };
    endpoint.generator.check(&generation_request)?;
    let mut in_flight = admit(&endpoint)?;
    let id = endpoint.next_id.fetch_add(1, Ordering::Relaxed);
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let prompt = generation_request.prompt.clone();
    endpoint.generator.submit(
        generation_request,
        Box::new(move |result| {
            let _ = sender.send(result);
        }),
        Arc::clone(&in_flight.cancelled),
    );
    let result = receiver.await.map_err(|_| ApiError::from(GenerateError::Stopped))?;
    in_flight.answered = true;
    let generation = result?;
    Ok(Json(completion_json(&endpoint, id, seed, &checked, &prompt, &generation)))
}

fn model_object(id: &str) -> Value {
    json!({"id": id, "object": "model", "created": 0, "owned_by": "lm-gym"})
}

async fn list_models(State(endpoint): State<Shared>) -> Json<Value> {
    Json(json!({"object": "list", "data": [model_object(&endpoint.model_id)]}))
}

async fn get_model(State(endpoint): State<Shared>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    if id == endpoint.model_id {
        Ok(Json(model_object(&endpoint.model_id)))
    } else {
        Err(ApiError::status(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            Some("model_not_found"),
            format!("the model `{id}` does not exist; this server serves `{}`", endpoint.model_id),
        ))
    }
}

async fn stats(State(endpoint): State<Shared>) -> Json<Value> {
    let limits = endpoint.limits;
    Json(json!({
        "model": endpoint.model_id,
        "in_flight_requests": endpoint.in_flight.load(Ordering::Relaxed),
        "rejected_busy": endpoint.rejected_busy.load(Ordering::Relaxed),
        "generator": endpoint.generator.stats(),
        "limits": {
            "max_body_bytes": limits.max_body_bytes,
            "max_sequences": limits.max_sequences,
            "max_requests": limits.max_requests,
            "max_tokens": limits.max_tokens,
            "body_timeout_seconds": limits.body_timeout.as_secs_f64(),
            "context": endpoint.generator.model().model.config().max_positions,
        },
    }))
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn no_route() -> ApiError {
    ApiError::status(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        None,
        "no such endpoint: GET /v1/models, POST /v1/chat/completions, GET /stats, GET /health",
    )
}

/// The routes of an endpoint.
pub fn router(endpoint: Shared) -> Router {
    let limit = endpoint.limits.max_body_bytes;
    Router::new()
        .route("/v1/models", get(list_models))
        .route("/v1/models/{id}", get(get_model))
        .route("/v1/chat/completions", post(chat_completions))
        .route("/stats", get(stats))
        .route("/health", get(health))
        .fallback(no_route)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(endpoint)
}

/// The id a model is served under: the default model's name, or the file stem of a GGUF file
/// (less a quantization suffix such as `.Q8_0`) or the folder name of a Hugging Face model.
pub fn model_id(path: Option<&std::path::Path>) -> String {
    const DEFAULT: &str = "SmolLM2-135M-Instruct";
    let Some(path) = path else { return DEFAULT.to_owned() };
    let name = if path.is_dir() { path.file_name() } else { path.file_stem() };
    let name = name.map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| DEFAULT.to_owned());
    match name.rsplit_once('.') {
        Some((stem, quant)) if quant.starts_with(['Q', 'F', 'q', 'f']) && !stem.is_empty() => stem.to_owned(),
        _ => name,
    }
}

/// Loads the model, binds `addr`, prints `listening on ADDR` (the bound address) as the first
/// stdout line, and serves until the process ends.
///
/// # Errors
/// The model cannot be loaded, the address cannot be bound, the server fails.
pub async fn serve(addr: SocketAddr, model: Option<&std::path::Path>, limits: Limits) -> anyhow::Result<()> {
    let device = agents_llm::default_device()?;
    let language_model = match model {
        Some(path) => LanguageModel::load(path, &device)?,
        None => LanguageModel::smollm2(&device)?,
    };
    let endpoint = Arc::new(Endpoint::new(Arc::new(language_model), model_id(model), limits));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    crate::output::print_line(format_args!("listening on {}", listener.local_addr()?))?;
    axum::serve(listener, router(endpoint)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: Value) -> Result<Checked, ApiError> {
        let request: ChatRequest = serde_json::from_value(body).map_err(|e| ApiError::invalid(None, e.to_string()))?;
        check(&request, &Limits::default())
    }

    fn refusal(body: Value) -> (Option<&'static str>, String) {
        let error = parse(body).expect_err("refused");
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        (error.param, error.message)
    }

    #[test]
    fn a_full_request_is_read() {
        let checked = parse(json!({
            "model": "anything",
            "messages": [
                {"role": "developer", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "Hello, "}, {"type": "text", "text": "there."}]},
                {"role": "assistant", "content": "Hi."},
                {"role": "user", "content": "Count."},
            ],
            "temperature": 0.5, "top_p": 0.9, "max_tokens": 7, "max_completion_tokens": 9,
            "stop": ["\n", "."], "seed": 12, "n": 3, "logprobs": true, "top_logprobs": 2,
            "return_token_ids": true, "user": "ignored", "stream": false, "frequency_penalty": 0,
        }))
        .unwrap();
        assert_eq!(checked.messages[0], ("system".to_owned(), "Be brief.".to_owned()));
        assert_eq!(checked.messages[1].1, "Hello, there.");
        assert_eq!(checked.sampling, Sampling { temperature: 0.5, top_p: 0.9 });
        assert_eq!(checked.max_tokens, Some(9), "max_completion_tokens wins");
        assert_eq!(checked.stop, ["\n", "."]);
        assert_eq!((checked.seed, checked.choices, checked.top_logprobs), (Some(12), 3, Some(2)));
        assert!(checked.return_token_ids);
    }

    #[test]
    fn defaults_are_openai_s() {
        let checked = parse(json!({"messages": [{"role": "user", "content": "Hi"}], "stop": "x"})).unwrap();
        assert_eq!(checked.sampling, Sampling { temperature: 1.0, top_p: 1.0 });
        assert_eq!((checked.max_tokens, checked.seed, checked.choices, checked.top_logprobs), (None, None, 1, None));
        assert_eq!(checked.stop, ["x"]);
        let logprobs = parse(json!({"messages": [{"role": "user", "content": "Hi"}], "logprobs": true})).unwrap();
        assert_eq!(logprobs.top_logprobs, Some(0));
    }

    #[test]
    fn bad_requests_name_their_parameter() {
        let user = json!([{"role": "user", "content": "Hi"}]);
        let cases = [
            (json!({"messages": []}), "messages"),
            (json!({"messages": [{"role": "tool", "content": "x"}]}), "messages"),
            (json!({"messages": [{"content": "x"}]}), "messages"),
            (json!({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}), "messages"),
            (json!({"messages": [{"role": "user", "content": 3}]}), "messages"),
            (json!({"messages": user, "stream": true}), "stream"),
            (json!({"messages": user, "temperature": 2.5}), "temperature"),
            (json!({"messages": user, "top_p": 0}), "top_p"),
            (json!({"messages": user, "max_tokens": 0}), "max_tokens"),
            (json!({"messages": user, "max_completion_tokens": 1_000_000}), "max_completion_tokens"),
            (json!({"messages": user, "stop": [""]}), "stop"),
            (json!({"messages": user, "stop": [1]}), "stop"),
            (json!({"messages": user, "seed": -1}), "seed"),
            (json!({"messages": user, "seed": 1.5}), "seed"),
            (json!({"messages": user, "n": 0}), "n"),
            (json!({"messages": user, "n": 65}), "n"),
            (json!({"messages": user, "top_logprobs": 2}), "top_logprobs"),
            (json!({"messages": user, "logprobs": true, "top_logprobs": 21}), "top_logprobs"),
            (json!({"messages": user, "presence_penalty": 0.5}), "presence_penalty"),
            (json!({"messages": user, "logit_bias": {"1": 5}}), "logit_bias"),
            (json!({"messages": user, "tools": [{"type": "function"}]}), "tools"),
            (json!({"messages": user, "response_format": {"type": "json_object"}}), "response_format"),
        ];
        for (body, param) in cases {
            let (got, message) = refusal(body.clone());
            assert_eq!(got, Some(param), "{body}: {message}");
        }
    }

    #[test]
    fn the_error_body_is_openai_s() {
        let error = ApiError::unsupported("stream", "no");
        assert_eq!(
            error.body(),
            json!({"error": {"message": "no", "type": "invalid_request_error", "param": "stream", "code": "unsupported_parameter"}})
        );
    }

    #[test]
    fn served_ids_drop_the_quantization() {
        assert_eq!(model_id(None), "SmolLM2-135M-Instruct");
        assert_eq!(model_id(Some(std::path::Path::new("/m/SmolLM2-135M-Instruct.Q8_0.gguf"))), "SmolLM2-135M-Instruct");
        assert_eq!(model_id(Some(std::path::Path::new("/m/llama.gguf"))), "llama");
    }
}
