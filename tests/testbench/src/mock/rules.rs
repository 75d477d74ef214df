//! Owns the mock's behaviour rules: what a `/v1/messages` request is matched on and what is answered.
//!
//! Rules are checked in order and the first whose conditions all hold answers. Every condition left
//! `None` matches anything. Rules (de)serialise as flat JSON objects, e.g.
//! `{"model_contains":"haiku","compaction":true,"reply":{"kind":"credits_error"}}`, which is the
//! format the `mockapi` binary reads. `delay_ms` on a rule holds its answer back (the request is
//! logged at once), e.g. to interrupt claude while it waits for a compaction.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::inspect::{AuthKind, BodyFacts};

/// What the mock answers to a `/v1/messages` request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Reply {
    /// An assistant text reply reporting `input_tokens` of context (default 100).
    Text {
        text: String,
        #[serde(default)]
        input_tokens: Option<u64>,
    },
    /// A `tool_use` block (stop reason `tool_use`), optionally after a text block.
    ToolUse {
        name: String,
        input: Value,
        #[serde(default)]
        text: Option<String>,
        #[serde(default)]
        input_tokens: Option<u64>,
    },
    /// A text reply `<analysis>…</analysis><summary>{text}</summary>`, as a compaction answer.
    Summary {
        text: String,
        #[serde(default)]
        input_tokens: Option<u64>,
    },
    /// HTTP 429 with the long-context credits body of reference §1 (`message` overrides the wording).
    ///
    /// `should_retry` adds the `x-should-retry` header the real API may send. Observed: 2.1.150 and
    /// 2.1.156 retry this 429 ten times with backoff (about 3.3 minutes) unless it carries
    /// `x-should-retry: false`, which makes them give up after the first answer and save the same
    /// synthetic error record as without it; `retry-after-ms: 0` / `retry-after: 0` do not shorten
    /// their backoff (2.1.156 still waited 33–40 s between the last attempts). 2.1.172 and later do
    /// not retry this 429 at all. Fixtures set `Some(false)` so they stay fast on every version;
    /// leave it `None` to get the real, slow retries.
    CreditsError {
        #[serde(default)]
        message: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        should_retry: Option<bool>,
    },
    /// HTTP 400 `prompt is too long: {tokens} tokens > {max} maximum`.
    PromptTooLong { tokens: u64, max: u64 },
    /// HTTP 413 `request_too_large`.
    TooLarge,
    /// Any other API error: HTTP `status` with `{"type":"error","error":{"type":…,"message":…}}`.
    Error {
        status: u16,
        error_type: String,
        message: String,
    },
    /// A scripted sequence: each match consumes the next reply; once all are used the rule stops
    /// matching and later rules (or the default) answer.
    Sequence { replies: Vec<Reply> },
}

impl Reply {
    pub fn text(text: impl Into<String>) -> Self {
        Reply::Text {
            text: text.into(),
            input_tokens: None,
        }
    }

    /// A text reply that tells claude the context now holds `input_tokens` tokens.
    pub fn text_with_tokens(text: impl Into<String>, input_tokens: u64) -> Self {
        Reply::Text {
            text: text.into(),
            input_tokens: Some(input_tokens),
        }
    }

    pub fn tool_use(name: impl Into<String>, input: Value) -> Self {
        Reply::ToolUse {
            name: name.into(),
            input,
            text: None,
            input_tokens: None,
        }
    }

    pub fn summary(text: impl Into<String>) -> Self {
        Reply::Summary {
            text: text.into(),
            input_tokens: None,
        }
    }

    pub fn credits_error() -> Self {
        Reply::CreditsError {
            message: None,
            should_retry: None,
        }
    }

    /// The credits 429 with `x-should-retry: false`: the versions that retry it (2.1.150,
    /// 2.1.156) give up at once, so a fixture does not wait minutes for the same refusal.
    pub fn credits_error_not_retried() -> Self {
        Reply::CreditsError {
            message: None,
            should_retry: Some(false),
        }
    }

    pub fn prompt_too_long(tokens: u64, max: u64) -> Self {
        Reply::PromptTooLong { tokens, max }
    }

    pub fn sequence(replies: impl IntoIterator<Item = Reply>) -> Self {
        Reply::Sequence {
            replies: replies.into_iter().collect(),
        }
    }

    /// The name logged for this reply (`"text"`, `"credits_error"`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Reply::Text { .. } => "text",
            Reply::ToolUse { .. } => "tool_use",
            Reply::Summary { .. } => "summary",
            Reply::CreditsError { .. } => "credits_error",
            Reply::PromptTooLong { .. } => "prompt_too_long",
            Reply::TooLarge => "too_large",
            Reply::Error { .. } => "error",
            Reply::Sequence { .. } => "sequence",
        }
    }
}

/// One rule: conditions (all must hold) and the reply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The request's `model` equals this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The request's `model` contains this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_contains: Option<String>,
    /// The body is at least this many bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_at_least: Option<usize>,
    /// The raw body contains this substring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthKind>,
    /// Exactly the n-th messages request (from 0) since the rules were set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nth: Option<usize>,
    /// The n-th messages request (from 0) since the rules were set, and every later one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_nth: Option<usize>,
    /// Whether the request is (true) or is not (false) a compaction request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compaction: Option<bool>,
    /// Whether the request carries (true) or lacks (false) base64 images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<bool>,
    pub reply: Reply,
    /// Not a condition: the matched request is logged at once but answered only after this many
    /// milliseconds, so a test can act while claude waits (e.g. press Ctrl-C mid-compaction).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
}

/// What a rule is checked against.
pub struct Incoming<'a> {
    pub body: &'a [u8],
    pub facts: &'a BodyFacts,
    pub auth: AuthKind,
    pub index: usize,
}

impl Rule {
    /// A rule that matches every request; narrow it with the builder methods.
    pub fn reply(reply: Reply) -> Self {
        Rule {
            model: None,
            model_contains: None,
            body_at_least: None,
            body_contains: None,
            auth: None,
            nth: None,
            from_nth: None,
            compaction: None,
            images: None,
            reply,
            delay_ms: None,
        }
    }

    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }
    pub fn model_contains(mut self, part: impl Into<String>) -> Self {
        self.model_contains = Some(part.into());
        self
    }
    pub fn body_at_least(mut self, bytes: usize) -> Self {
        self.body_at_least = Some(bytes);
        self
    }
    pub fn body_contains(mut self, needle: impl Into<String>) -> Self {
        self.body_contains = Some(needle.into());
        self
    }
    pub fn auth(mut self, auth: AuthKind) -> Self {
        self.auth = Some(auth);
        self
    }
    pub fn nth(mut self, n: usize) -> Self {
        self.nth = Some(n);
        self
    }
    pub fn from_nth(mut self, n: usize) -> Self {
        self.from_nth = Some(n);
        self
    }
    pub fn compaction(mut self, is: bool) -> Self {
        self.compaction = Some(is);
        self
    }
    pub fn images(mut self, has: bool) -> Self {
        self.images = Some(has);
        self
    }
    /// Answers after `ms` milliseconds (see [`Rule::delay_ms`]).
    pub fn delay_ms(mut self, ms: u64) -> Self {
        self.delay_ms = Some(ms);
        self
    }

    /// Whether every condition holds for the request.
    pub fn matches(&self, req: &Incoming<'_>) -> bool {
        let model = req.facts.model.as_deref().unwrap_or("");
        self.model.as_deref().is_none_or(|m| m == model)
            && self
                .model_contains
                .as_deref()
                .is_none_or(|m| model.contains(m))
            && self.body_at_least.is_none_or(|n| req.body.len() >= n)
            && self
                .body_contains
                .as_deref()
                .is_none_or(|s| contains(req.body, s.as_bytes()))
            && self.auth.is_none_or(|a| a == req.auth)
            && self.nth.is_none_or(|n| req.index == n)
            && self.from_nth.is_none_or(|n| req.index >= n)
            && self.compaction.is_none_or(|c| c == req.facts.is_compaction)
            && self.images.is_none_or(|i| i == (req.facts.image_count > 0))
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// The rules in force plus the state of their sequences.
#[derive(Debug, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    /// For each rule, how many replies of its sequence were used.
    used: Vec<usize>,
    /// Messages requests answered since the rules were set.
    pub count: usize,
}

impl RuleSet {
    pub fn new(rules: Vec<Rule>) -> Self {
        let used = vec![0; rules.len()];
        RuleSet {
            rules,
            used,
            count: 0,
        }
    }

    /// The reply for a request and the rule's delay (`None`: no rule matched, use the default
    /// at once), consuming sequence steps.
    pub fn answer(&mut self, req: &Incoming<'_>) -> Option<(Reply, Option<u64>)> {
        for (i, rule) in self.rules.iter().enumerate() {
            if !rule.matches(req) {
                continue;
            }
            match &rule.reply {
                Reply::Sequence { replies } => {
                    if let Some(r) = replies.get(self.used[i]) {
                        self.used[i] += 1;
                        return Some((r.clone(), rule.delay_ms));
                    }
                }
                other => return Some((other.clone(), rule.delay_ms)),
            }
        }
        None
    }
}

/// The reply when no rule matched: a summary for compaction requests, else a short text.
pub fn default_reply(facts: &BodyFacts) -> Reply {
    if facts.is_compaction {
        Reply::summary("The user and the assistant exchanged a few short test messages (mock).")
    } else {
        Reply::text("OK (mock reply).")
    }
}
