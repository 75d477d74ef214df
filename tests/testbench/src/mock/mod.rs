//! Owns the mock Anthropic Messages API: an axum server on 127.0.0.1 (port 0) run on a background
//! thread, answering by rules (see `rules`) and logging every request (see `inspect`).
//!
//! Endpoints: `POST /v1/messages` (with or without `?beta=true`), `POST /v1/messages/count_tokens`,
//! `GET /v1/models`, `GET /v1/models/{id}`, `HEAD /` and `GET /`. Anything else is a logged 404.

pub mod client;
mod inspect;
mod respond;
mod rules;

pub use inspect::{AuthKind, COMPACTION_MARKER, LoggedRequest, is_compaction_text};
pub use respond::CREDITS_MESSAGE;
pub use rules::{Reply, Rule};

use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use inspect::BodyFacts;
use rules::{Incoming, RuleSet};

/// A running mock API; stops when dropped.
pub struct MockApi {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Default)]
struct Shared {
    rules: RuleSet,
    log: Vec<LoggedRequest>,
    sink: Option<File>,
}

impl MockApi {
    /// Starts the mock with `rules` on 127.0.0.1, on a free port.
    pub fn start(rules: Vec<Rule>) -> MockApi {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Mutex::new(Shared {
            rules: RuleSet::new(rules),
            ..Shared::default()
        }));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = axum::Router::new()
            .fallback(handle)
            .layer(DefaultBodyLimit::disable())
            .with_state(shared.clone());
        let thread = std::thread::Builder::new()
            .name(format!("mockapi-{}", addr.port()))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("tokio runtime");
                rt.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    let server = axum::serve(listener, app);
                    tokio::select! {
                        r = server => r.expect("mock server"),
                        _ = stopped => {}
                    }
                });
                // Dropping the runtime here cancels open connections.
            })
            .expect("spawn the mock thread");
        MockApi {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`, the value for `ANTHROPIC_BASE_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Replaces the rules; request indexes (`nth`, `from_nth`) and sequences start again from 0.
    pub fn set_rules(&self, rules: Vec<Rule>) {
        self.lock().rules = RuleSet::new(rules);
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.lock().log.clone()
    }

    /// The `POST /v1/messages` requests received so far.
    pub fn messages_requests(&self) -> Vec<LoggedRequest> {
        self.lock()
            .log
            .iter()
            .filter(|r| r.is_messages())
            .cloned()
            .collect()
    }

    /// Forgets the log (rules are kept).
    pub fn clear_log(&self) {
        self.lock().log.clear();
    }

    /// Also appends every request, as one JSON line, to `path` (created or truncated).
    pub fn log_to_file(&self, path: &Path) -> std::io::Result<()> {
        self.lock().sink = Some(File::create(path)?);
        Ok(())
    }

    /// Waits until some logged request satisfies `pred`; `None` after `timeout`.
    pub fn wait_for(
        &self,
        timeout: Duration,
        pred: impl Fn(&LoggedRequest) -> bool,
    ) -> Option<LoggedRequest> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(r) = self.lock().log.iter().find(|r| pred(r)) {
                return Some(r.clone());
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for MockApi {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn auth_kind(headers: &HeaderMap) -> AuthKind {
    if headers.contains_key("x-api-key") {
        AuthKind::ApiKey
    } else if headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("bearer "))
    {
        AuthKind::Bearer
    } else {
        AuthKind::None
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn handle(
    State(shared): State<Arc<Mutex<Shared>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (response, delay) = answer(&shared, &method, &uri, &headers, &body);
    if let Some(d) = delay {
        // Other requests are served meanwhile; a client that gives up cancels this one.
        tokio::time::sleep(d).await;
    }
    response
}

/// Answers and logs one request; returns the response and how long to hold it back.
fn answer(
    shared: &Mutex<Shared>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> (Response, Option<Duration>) {
    let path = uri.path().trim_end_matches('/').to_string();
    let auth = auth_kind(headers);
    let facts = BodyFacts::of(body);
    let mut shared = shared.lock().unwrap_or_else(|e| e.into_inner());
    let mut messages_index = None;
    let mut delay = None;
    let (kind, response) = match (method, path.as_str()) {
        (&Method::POST, "/v1/messages") => {
            let index = shared.rules.count;
            shared.rules.count += 1;
            messages_index = Some(index);
            let incoming = Incoming {
                body,
                facts: &facts,
                auth,
                index,
            };
            let (reply, delay_ms) = shared
                .rules
                .answer(&incoming)
                .unwrap_or_else(|| (rules::default_reply(&facts), None));
            delay = delay_ms.map(Duration::from_millis);
            let model = facts.model.as_deref().unwrap_or("claude-mock");
            (
                reply.kind().to_string(),
                respond::respond(&reply, model, facts.stream),
            )
        }
        (&Method::POST, "/v1/messages/count_tokens") => (
            "count_tokens".into(),
            axum::Json(json!({"input_tokens": body.len() / 4 + 1})).into_response(),
        ),
        (&Method::GET, "/v1/models") => ("models".into(), axum::Json(models()).into_response()),
        (&Method::GET, p) if p.starts_with("/v1/models/") => {
            let id = &p["/v1/models/".len()..];
            ("model".into(), axum::Json(model_info(id)).into_response())
        }
        (&Method::HEAD | &Method::GET, "") => {
            ("root".into(), (StatusCode::OK, "ok").into_response())
        }
        _ => (
            "not_found".into(),
            respond::error(404, "not_found_error", "Not found (mock)"),
        ),
    };
    let logged = LoggedRequest {
        seq: shared.log.len(),
        messages_index,
        method: method.to_string(),
        path: if path.is_empty() { "/".into() } else { path },
        query: uri.query().map(str::to_owned),
        model: facts.model,
        stream: facts.stream,
        body_len: body.len(),
        auth,
        beta: header(headers, "anthropic-beta"),
        session_header: header(headers, "x-claude-code-session-id"),
        is_compaction: facts.is_compaction,
        image_count: facts.image_count,
        last_user_text: facts.last_user_text,
        reply: kind,
        status: response.status().as_u16(),
        body: String::from_utf8_lossy(body).into_owned(),
    };
    if let Some(sink) = shared.sink.as_mut() {
        let line = serde_json::to_string(&logged).expect("a logged request serialises");
        let _ = writeln!(sink, "{line}");
        let _ = sink.flush();
    }
    shared.log.push(logged);
    (response, delay)
}

const MODELS: &[(&str, &str)] = &[
    ("claude-sonnet-4-6", "Claude Sonnet 4.6"),
    ("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5"),
    ("claude-haiku-4-5-20251001", "Claude Haiku 4.5"),
    ("claude-opus-4-1-20250805", "Claude Opus 4.1"),
];

fn model_info(id: &str) -> serde_json::Value {
    let name = MODELS
        .iter()
        .find(|(m, _)| *m == id)
        .map_or(id, |(_, n)| *n);
    json!({"type":"model","id":id,"display_name":name,"created_at":"2025-01-01T00:00:00Z"})
}

fn models() -> serde_json::Value {
    let data: Vec<_> = MODELS.iter().map(|(id, _)| model_info(id)).collect();
    json!({"data": data, "has_more": false, "first_id": MODELS[0].0, "last_id": MODELS[MODELS.len()-1].0})
}
