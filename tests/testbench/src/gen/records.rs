//! The records of a generated session: prompts, split assistant responses, tool calls and their
//! results (images, PDFs, text), compactions and the final API error, in reference §3 shapes.
use std::io::{self, Write};

use super::parts::iso;
use super::{ERROR_TEXT, Gen, MAX_TEXT, TOKEN_CAP};

enum Tool {
    ReadImage,
    Screenshot,
    Pdf,
    Bash,
    ReadText,
}

impl<W: Write> Gen<'_, W> {
    pub(super) fn queue_ops(&mut self, content: &str) -> io::Result<()> {
        let (sid, t) = (self.s.session_id.clone(), iso(self.clock));
        self.plain(&format!("{{\"type\":\"queue-operation\",\"operation\":\"enqueue\",\"timestamp\":\"{t}\",\"sessionId\":\"{sid}\",\"content\":\"{content}\"}}"))?;
        self.plain(&format!("{{\"type\":\"queue-operation\",\"operation\":\"dequeue\",\"timestamp\":\"{t}\",\"sessionId\":\"{sid}\"}}"))
    }

    /// A user prompt (`text` already JSON-escaped; preceded by its file-history snapshot), maybe with
    /// a pasted image.
    pub(super) fn prompt(&mut self, text: &str, paste: bool) -> io::Result<()> {
        let uuid = self.rng.uuid();
        let t = iso(self.clock);
        self.plain(&format!("{{\"type\":\"file-history-snapshot\",\"messageId\":\"{uuid}\",\"snapshot\":{{\"messageId\":\"{uuid}\",\"trackedFileBackups\":{{}},\"timestamp\":\"{t}\"}},\"isSnapshotUpdate\":false}}"))?;
        self.open("user")?;
        if paste {
            let img = self.blob(false);
            self.put(&format!("\"message\":{{\"role\":\"user\",\"content\":[{{\"type\":\"text\",\"text\":\"{text}\"}},"))?;
            self.block(&img)?;
            self.put("]}")?;
        } else {
            self.put(&format!(
                "\"message\":{{\"role\":\"user\",\"content\":\"{text}\"}}"
            ))?;
        }
        self.pending += text.len() as u64 / 4;
        self.stamp(uuid)?;
        self.s.user_records += 1;
        self.close()
    }

    /// One API response written as one record per content block, sharing `message.id` and usage.
    fn assistant(&mut self, blocks: &[String], stop: &str) -> io::Result<()> {
        let (id, req) = (self.rng.id("msg_01", 22), self.rng.id("req_011C", 22));
        let total = (self.ctx + self.pending).min(TOKEN_CAP - self.rng.range(0, 40_000));
        let input = self.rng.range(1, 9);
        let read = self.ctx.min(total - input);
        let output = self.rng.log_range(20, 4_000);
        let usage = format!(
            "{{\"input_tokens\":{input},\"cache_creation_input_tokens\":{},\"cache_read_input_tokens\":{read},\"output_tokens\":{output},\"service_tier\":\"standard\"}}",
            total - input - read
        );
        (
            self.ctx,
            self.pending,
            self.s.context_tokens,
            self.s.last_output_tokens,
        ) = (total, output, total, output);
        for (i, b) in blocks.iter().enumerate() {
            let stop = if i + 1 == blocks.len() {
                format!("\"{stop}\"")
            } else {
                "null".into()
            };
            self.open("assistant")?;
            self.put(&format!(
                "\"message\":{{\"id\":\"{id}\",\"type\":\"message\",\"role\":\"assistant\",\"model\":{},\"content\":[{b}],\"stop_reason\":{stop},\"stop_sequence\":null,\"usage\":{usage}}},\"requestId\":\"{req}\"",
                self.model
            ))?;
            let uuid = self.rng.uuid();
            self.stamp(uuid)?;
            self.close()?;
            self.s.assistant_records += 1;
        }
        self.s.assistant_messages += 1;
        Ok(())
    }

    fn text_block(&mut self, lo: u64, hi: u64) -> String {
        format!(
            "{{\"type\":\"text\",\"text\":\"{}\"}}",
            self.text_string(lo, hi)
        )
    }

    fn system(&mut self, subtype: &str, body: &str) -> io::Result<()> {
        self.open("system")?;
        self.put(&format!(
            "\"subtype\":\"{subtype}\",{body}\"isMeta\":false,\"level\":\"info\""
        ))?;
        let uuid = self.rng.uuid();
        self.stamp(uuid)?;
        self.close()
    }

    pub(super) fn turn(&mut self) -> io::Result<()> {
        let paste = self.rng.chance(0.06) && self.share_low();
        const ASKS: &[&str] = &[
            "The login button overlaps the footer on mobile, take a screenshot and fix it",
            "Why does `npm test` fail on CI but not locally? Here is the log:",
            "Compare the dark mode screenshots with the Figma export — the “Sign in” spacing is off",
            "Run the e2e suite again and look at the failures",
        ];
        let ask = format!("{}\\n\\n{}", self.rng.pick(ASKS), self.text_string(1, 400));
        self.prompt(&ask, paste)?;
        if self.rng.chance(0.1) {
            self.open("attachment")?;
            self.put("\"attachment\":{\"type\":\"edited_text_file\",\"filename\":\"/home/u/proj/src/login.ts\",\"snippet\":\"export const retries = 3;\"}")?;
            let uuid = self.rng.uuid();
            self.stamp(uuid)?;
            self.close()?;
        }
        for _ in 0..self.rng.range(1, 4) {
            self.tool_call()?;
        }
        let reply = self.text_block(200, 3_000);
        self.assistant(&[reply], "end_turn")?;
        if self.rng.chance(0.3) {
            let ms = self.rng.log_range(2_000, 600_000);
            self.system("turn_duration", &format!("\"durationMs\":{ms},"))?;
        }
        if self.rng.chance(0.05) {
            self.queue_ops("also check the dark mode")?;
        }
        Ok(())
    }

    fn share_low(&self) -> bool {
        (self.s.base64_bytes as f64) < self.o.image_share * self.pos as f64
    }

    fn tool_call(&mut self) -> io::Result<()> {
        let tool = match (self.share_low(), self.rng.unit()) {
            (true, r) if r < 0.04 => Tool::Pdf,
            (true, r) if r < 0.25 => Tool::Screenshot,
            (true, _) => Tool::ReadImage,
            (false, r) if r < 0.5 => Tool::Bash,
            (false, _) => Tool::ReadText,
        };
        let n = self.rng.range(1, 999);
        let (name, input) = match tool {
            Tool::ReadImage => (
                "Read",
                format!("{{\"file_path\":\"/home/u/proj/shots/s{n}.png\"}}"),
            ),
            Tool::Screenshot => ("mcp__playwright__browser_take_screenshot", "{}".into()),
            Tool::Pdf => (
                "Read",
                format!("{{\"file_path\":\"/home/u/proj/docs/spec{n}.pdf\"}}"),
            ),
            Tool::Bash => (
                "Bash",
                "{\"command\":\"npm test 2>&1 | tail -n 400\",\"description\":\"Run tests\"}"
                    .into(),
            ),
            Tool::ReadText => (
                "Read",
                format!("{{\"file_path\":\"/home/u/proj/src/m{n}.ts\"}}"),
            ),
        };
        let tid = self.rng.id("toolu_01", 22);
        let mut blocks = Vec::new();
        if self.rng.chance(0.3) {
            let sig = self.rng.id("Eq", 120);
            blocks.push(format!(
                "{{\"type\":\"thinking\",\"thinking\":\"{}\",\"signature\":\"{sig}\"}}",
                self.text_string(100, 2_000)
            ));
        }
        if self.rng.chance(0.6) {
            blocks.push(self.text_block(30, 400));
        }
        blocks.push(format!(
            "{{\"type\":\"tool_use\",\"id\":\"{tid}\",\"name\":\"{name}\",\"input\":{input}}}"
        ));
        self.assistant(&blocks, "tool_use")?;
        let source = self.s.last_uuid.clone();
        self.open("user")?;
        self.put(&format!("\"message\":{{\"role\":\"user\",\"content\":[{{\"tool_use_id\":\"{tid}\",\"type\":\"tool_result\",\"content\":"))?;
        let uuid = self.rng.uuid();
        match tool {
            Tool::ReadImage | Tool::Screenshot | Tool::Pdf => {
                let b = self.blob(matches!(tool, Tool::Pdf));
                let shot = matches!(tool, Tool::Screenshot);
                self.put(if shot {
                    "[{\"type\":\"text\",\"text\":\"Took the screenshot\"},"
                } else {
                    "["
                })?;
                self.block(&b)?;
                self.put("]}]}")?;
                self.stamp(uuid)?;
                self.s.duplicate_copies += 1;
                if shot {
                    self.put(
                        ",\"toolUseResult\":[{\"type\":\"text\",\"text\":\"Took the screenshot\"},",
                    )?;
                    self.put(&format!("{{\"type\":\"image\",\"source\":{{\"type\":\"base64\",\"media_type\":\"{}\",\"data\":\"", b.media))?;
                    self.data(&b)?;
                    self.put("\"}}]")?;
                } else {
                    let ty = if b.media == "application/pdf" {
                        "pdf"
                    } else {
                        "image"
                    };
                    self.put(&format!(",\"toolUseResult\":{{\"type\":\"{ty}\",\"file\":{{\"filePath\":\"/home/u/proj/f{n}\",\"base64\":\""))?;
                    self.data(&b)?;
                    let dims = format!(
                        "\"dimensions\":{{\"originalWidth\":{w},\"originalHeight\":{h}}}",
                        w = b.w,
                        h = b.h
                    );
                    self.put(&format!(
                        "\",\"type\":\"{}\",\"originalSize\":{},{dims}}}}}",
                        b.media,
                        b.raw_len()
                    ))?;
                }
            }
            Tool::Bash | Tool::ReadText => {
                let want = self
                    .rng
                    .log_range(1_000, MAX_TEXT)
                    .min(self.cap(1_000, MAX_TEXT));
                self.put("\"")?;
                let (a, b, lines) = self.text(want)?;
                self.put("\"}]}")?;
                self.stamp(uuid)?;
                self.pending += (b - a) as u64 / 4;
                if matches!(tool, Tool::Bash) {
                    self.put(",\"toolUseResult\":{\"stdout\":\"")?;
                    self.text_at(a, b)?;
                    self.put("\",\"stderr\":\"\",\"interrupted\":false,\"isImage\":false}")?;
                } else {
                    self.put(&format!(",\"toolUseResult\":{{\"type\":\"text\",\"file\":{{\"filePath\":\"/home/u/proj/src/m{n}.ts\",\"content\":\""))?;
                    self.text_at(a, b)?;
                    self.put(&format!(
                        "\",\"numLines\":{lines},\"startLine\":1,\"totalLines\":{lines}}}}}"
                    ))?;
                }
            }
        }
        self.put(&format!(",\"sourceToolAssistantUUID\":\"{source}\""))?;
        self.s.user_records += 1;
        self.close()
    }

    /// A Bash call whose single result line is about `len` bytes.
    pub(super) fn huge_turn(&mut self, len: u64) -> io::Result<()> {
        let tid = self.rng.id("toolu_01", 22);
        let call = format!(
            "{{\"type\":\"tool_use\",\"id\":\"{tid}\",\"name\":\"Bash\",\"input\":{{\"command\":\"cat build.log\"}}}}"
        );
        self.assistant(&[call], "tool_use")?;
        self.open("user")?;
        self.put(&format!("\"message\":{{\"role\":\"user\",\"content\":[{{\"tool_use_id\":\"{tid}\",\"type\":\"tool_result\",\"content\":\""))?;
        let mut left = len.saturating_sub(self.pos - self.line_start + 400);
        while left > 0 {
            let before = self.pos;
            self.text(left.min(self.text.buf.len() as u64))?;
            left = left.saturating_sub(self.pos - before);
        }
        self.pending += len / 4;
        self.put("\"}]}")?;
        let uuid = self.rng.uuid();
        self.stamp(uuid)?;
        self.put(",\"toolUseResult\":{\"stdout\":\"(see message)\",\"stderr\":\"\",\"interrupted\":false,\"isImage\":false}")?;
        self.s.user_records += 1;
        self.close()
    }

    /// A compaction: boundary, summary, and for the last one a failed attempt before and the
    /// `/compact` command records after (the last one is manual, the earlier ones automatic).
    pub(super) fn compact(&mut self, last: bool) -> io::Result<()> {
        if last {
            let err = format!(
                "<local-command-stderr>Error during compaction: {ERROR_TEXT}</local-command-stderr>"
            );
            self.system(
                "local_command",
                &format!("\"content\":{},", serde_json::to_string(&err)?),
            )?;
            self.s.failed_compactions += 1;
        }
        let pre = self.ctx + self.pending;
        let post = self.rng.range(9_000, 24_000);
        let logical = self.parent.take().unwrap_or_default();
        let trigger = if last { "manual" } else { "auto" };
        self.put(&format!("{{\"parentUuid\":null,\"logicalParentUuid\":\"{logical}\",\"isSidechain\":false,\"type\":\"system\",\"subtype\":\"compact_boundary\",\"content\":\"Conversation compacted\",\"isMeta\":false,\"level\":\"info\",\"compactMetadata\":{{\"trigger\":\"{trigger}\",\"preTokens\":{pre},\"postTokens\":{post}}}"))?;
        let uuid = self.rng.uuid();
        self.stamp(uuid)?;
        self.close()?;
        (self.s.compactions, self.s.last_boundary_line) = (self.s.compactions + 1, self.s.records);
        self.s.after_boundary.clear();
        (self.ctx, self.pending, self.s.context_tokens) = (post, 0, post);
        self.open("user")?;
        self.put("\"message\":{\"role\":\"user\",\"content\":\"This session is being continued from a previous conversation that ran out of context. The summary below covers the earlier portion of the conversation.\\n\\n")?;
        let want = self.rng.range(4_000, 16_000);
        self.text(want)?;
        self.put("\"}")?;
        let uuid = self.rng.uuid();
        self.stamp(uuid)?;
        self.put(",\"isVisibleInTranscriptOnly\":true,\"isCompactSummary\":true")?;
        self.s.user_records += 1;
        self.close()?;
        if last {
            let cmd = "<command-name>/compact</command-name>\\n<command-message>compact</command-message>\\n<command-args></command-args>";
            self.system("local_command", &format!("\"content\":\"{cmd}\","))?;
            let out = "<local-command-stdout>Compacted (ctrl+o to see full summary)</local-command-stdout>";
            self.system("local_command", &format!("\"content\":\"{out}\","))?;
        }
        Ok(())
    }

    pub(super) fn api_error(&mut self) -> io::Result<()> {
        self.open("assistant")?;
        let id = self.rng.uuid();
        let zero = "{\"input_tokens\":0,\"output_tokens\":0,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0}";
        self.put(&format!("\"message\":{{\"id\":\"{id}\",\"container\":null,\"model\":\"<synthetic>\",\"role\":\"assistant\",\"stop_reason\":\"stop_sequence\",\"stop_sequence\":\"\",\"type\":\"message\",\"usage\":{zero},\"content\":[{{\"type\":\"text\",\"text\":\"{ERROR_TEXT}\"}}]}}"))?;
        let uuid = self.rng.uuid();
        self.stamp(uuid)?;
        let details = "429 {\\\"type\\\":\\\"error\\\",\\\"error\\\":{\\\"type\\\":\\\"rate_limit_error\\\",\\\"message\\\":\\\"Usage credits are required for long context requests.\\\"}}";
        self.put(&format!(",\"error\":\"rate_limit\",\"isApiErrorMessage\":true,\"apiError\":\"long_context_credits_required\",\"apiErrorStatus\":429,\"errorDetails\":\"{details}\""))?;
        self.s.assistant_records += 1;
        self.close()?;
        self.s.last_error_line = self.s.records;
        Ok(())
    }
}
