//! Joining the scans of a file's consecutive parts into the scan of the whole: counts add up,
//! the later part's last-wins values replace the earlier's where its records set them, and its
//! line numbers move past the earlier part's lines. `scan_tests` checks every cut of every test
//! session against the scan in one piece.
use super::contributions::{add_media, resolve_error};
use super::{KEEP_EXAMPLES, MediaSummary, RecordGroup, Scanner, SessionScan};

impl Scanner {
    /// This scan followed by `later`, the scan of the lines right after this one's.
    pub(super) fn then(mut self, later: Scanner) -> Scanner {
        for (slot, next) in [
            (&mut self.cwd, later.cwd),
            (&mut self.session_id, later.session_id),
            (&mut self.timestamp, later.timestamp),
            (&mut self.version, later.version),
        ] {
            // A raw JSON value is never empty: an empty slot means no record had the field.
            if !next.is_empty() {
                *slot = next;
            }
        }
        join(&mut self.scan, later.scan);
        self
    }
}

/// Adds scan `b`, of the lines right after `a`'s, to `a`.
fn join(a: &mut SessionScan, mut b: SessionScan) {
    b.shift_lines(a.lines);
    a.lines += b.lines;
    a.records += b.records;
    a.blank_lines += b.blank_lines;
    a.malformed += b.malformed;
    add_examples(&mut a.malformed_examples, b.malformed_examples);
    a.non_utf8_lines += b.non_utf8_lines;
    add_examples(&mut a.non_utf8_examples, b.non_utf8_examples);
    a.torn_last_line |= b.torn_last_line;
    a.largest_line = a.largest_line.max(b.largest_line);
    a.first_prompt = a.first_prompt.take().or(b.first_prompt);
    if b.set.context {
        a.context = b.context;
    }
    a.compactions += b.compactions;
    a.last_boundary_line = b.last_boundary_line.or(a.last_boundary_line);
    a.failed_compactions += b.failed_compactions;
    if b.compactions > 0 {
        a.media = b.media; // only what follows the last boundary counts
    } else {
        add_summary(&mut a.media, b.media);
    }
    if b.set.resolved {
        resolve_error(a);
    }
    if b.last_error.is_some() {
        a.last_error = b.last_error;
    }
    if b.last_long_context_error.is_some() {
        a.last_long_context_error = b.last_long_context_error;
    }
    if b.set.reply {
        a.last_model = b.last_model;
        a.last_entrypoint = b.last_entrypoint;
    }
    a.conversation_records += b.conversation_records;
    add_group(&mut a.request_copies, &b.request_copies);
    add_group(&mut a.other_records, &b.other_records);
    a.recorded_model = b.recorded_model.or(a.recorded_model.take());
    let (sa, sb) = (&mut a.sidechain, b.sidechain);
    sa.records += sb.records;
    sa.one_m |= sb.one_m;
    if sb.decided {
        sa.refused = sb.refused;
        sa.decided = true;
    }
    a.set.context |= b.set.context;
    a.set.reply |= b.set.reply;
    a.set.resolved |= b.set.resolved;
}

impl SessionScan {
    /// Moves every line number by `by` (the lines of the parts before this one).
    fn shift_lines(&mut self, by: u64) {
        for bad in &mut self.malformed_examples {
            bad.line += by;
        }
        for line in &mut self.non_utf8_examples {
            *line += by;
        }
        if let Some(c) = &mut self.context {
            c.line += by;
        }
        if let Some(line) = &mut self.last_boundary_line {
            *line += by;
        }
        for block in &mut self.media.largest {
            block.line += by;
        }
        for e in [&mut self.last_error, &mut self.last_long_context_error]
            .into_iter()
            .flatten()
        {
            e.line += by;
        }
    }
}

/// The first examples of both, in order, as many as a scan keeps.
fn add_examples<T>(kept: &mut Vec<T>, more: Vec<T>) {
    let room = KEEP_EXAMPLES.saturating_sub(kept.len());
    kept.extend(more.into_iter().take(room));
}

fn add_summary(a: &mut MediaSummary, b: MediaSummary) {
    // `add_media` keeps the largest blocks, earlier first among equals: adding the later part's
    // kept blocks in their order leaves the blocks the whole scan would have kept.
    let counted = (
        a.images,
        a.image_bytes,
        a.documents,
        a.document_bytes,
        a.est_tokens,
    );
    for block in b.largest {
        add_media(a, block);
    }
    a.images = counted.0 + b.images;
    a.image_bytes = counted.1 + b.image_bytes;
    a.documents = counted.2 + b.documents;
    a.document_bytes = counted.3 + b.document_bytes;
    a.est_tokens = counted.4.saturating_add(b.est_tokens);
}

fn add_group(a: &mut RecordGroup, b: &RecordGroup) {
    a.records += b.records;
    a.bytes += b.bytes;
    a.images += b.images;
    a.documents += b.documents;
    a.media_bytes += b.media_bytes;
}
