//! The trim rungs follow the evidence: a compaction refused for size takes out every image and
//! document, then the large tool outputs, before the last resort; a failure that is not about
//! size only gets the estimate's trim; "nothing to trim" says what is left.
use super::fake::*;
use crate::claude_run::{Event, Headless};
use crate::ui::AssumeYes;
use crate::ui::scripted::{Answer, Scripted};
use crate::wizard::compact::Outcome;
use crate::wizard::world::{TrimPreview, TrimScope};

fn failed_with(error: &str) -> Headless {
    Headless {
        code: Some(0),
        events: vec![Event::Compacted {
            success: false,
            error: Some(error.into()),
        }],
        stopped: None,
        stderr: String::new(),
    }
}

const REFUSED_429: &str = "Error during compaction: API Error: Request rejected (429) · Extra usage is required for long context requests.";

fn preview(line: &str, tokens_after: u64) -> Option<TrimPreview> {
    Some(TrimPreview {
        lines: vec![line.into()],
        tokens_after: Some(tokens_after),
    })
}

/// The case: ~150K recorded (under the 160K line), the compaction refused with the
/// long-context 429; the images go anyway, then the tool outputs, and the third compaction works.
#[test]
fn a_refusal_for_size_trims_media_then_tool_outputs_whatever_the_estimate() {
    let opts = options(false);
    let mut world = staged(
        vec![
            failed_with(REFUSED_429),
            failed_with("Compaction failed · attached media exceeds size limits"),
            compaction(true),
        ],
        vec![
            stuck_scan(150_000, 0),
            stuck_scan(150_000, 0),
            stuck_scan(150_000, 0),
            stuck_scan(150_000, 0),
            stuck_scan(150_000, 0),
            stuck_scan(4_000, 1),
        ],
    );
    world.trim = preview("8 images: 4.7 MB → 1.2 KB, ~12,000 tokens", 138_000);
    world.tool_trim = preview("3 tool outputs shortened: 900 KB → 30 KB", 20_000);
    let mut ui = Scripted::new(
        true,
        &[
            ("symptom", Answer::Enter),
            ("compact", Answer::Enter),
            ("trim", Answer::Enter),
            ("trim", Answer::Enter),
            ("return", Answer::No),
        ],
    );
    let (code, out) = walk(&mut ui, &mut world, &opts, stuck_scan(150_000, 0));
    assert!(ui.done(), "asked {:?}", ui.asked);
    assert_eq!(code.unwrap(), 0);
    let limit = crate::format::human_bytes(crate::trim::DEFAULT_TOOL_OUTPUT_KEEP);
    assert_eq!(
        world.log,
        [
            "backup".to_owned(),
            format!("run {COMPACT_ARGS}"),
            "trim Media".to_owned(),
            format!("run {COMPACT_ARGS}"),
            format!(
                "trim ToolOutputs({})",
                crate::trim::DEFAULT_TOOL_OUTPUT_KEEP
            ),
            format!("run {COMPACT_ARGS}"),
        ]
    );
    let said = ui.transcript();
    assert!(
        said.contains("every image and document after the last compaction goes"),
        "{said}"
    );
    assert!(
        ui.questions.contains(&format!(
            "Shorten the text tool outputs over {limit} (change the threshold with \
             --tool-output-over) in the session (a backup keeps the original)?"
        )),
        "{:?}",
        ui.questions
    );
    assert!(!said.contains("Nothing"), "{said}");
    assert_eq!(out, format!("{}\n", super::in_root(RETURN_ARGS)));
}

/// No media at all: the tool outputs are the first trim; when nothing is left, the message says
/// what is (the conversation's own text) and the last resort follows.
#[test]
fn nothing_to_trim_only_when_nothing_is_left_and_it_says_what_is_left() {
    let opts = options(false);
    let mut world = staged(
        vec![failed_with(REFUSED_429), failed_with(REFUSED_429)],
        vec![stuck_scan(190_000, 0)],
    );
    world.tool_trim = preview("2 tool outputs shortened", 185_000);
    let (code, _) = walk(
        &mut AssumeYes {
            allow_clear: false,
            quiet: false,
        },
        &mut world,
        &opts,
        stuck_scan(190_000, 0),
    );
    assert_eq!(code.unwrap(), 1);
    assert_eq!(
        world.log,
        [
            "backup".to_owned(),
            format!("run {COMPACT_ARGS}"),
            format!(
                "trim ToolOutputs({})",
                crate::trim::DEFAULT_TOOL_OUTPUT_KEEP
            ),
            format!("run {COMPACT_ARGS}"),
        ]
    );

    let mut world = staged(vec![failed_with(REFUSED_429)], vec![stuck_scan(190_000, 0)]);
    let mut ui = Scripted::new(
        true,
        &[
            ("symptom", Answer::Enter),
            ("compact", Answer::Enter),
            ("clear", Answer::No),
        ],
    );
    let (code, _) = walk(&mut ui, &mut world, &opts, stuck_scan(190_000, 0));
    assert!(ui.done(), "asked {:?}", ui.asked);
    assert_eq!(code.unwrap(), 1);
    let said = ui.transcript();
    assert!(
        said.contains(
            "Nothing to trim: no images, documents or text tool outputs over 10.0 KB are left \
             after the last compaction; the conversation itself is about 190,000 tokens of text"
        ),
        "{said}"
    );
}

/// A failure that says nothing about size (a 500) gets only the estimate's trim.
#[test]
fn a_failure_that_is_not_about_size_only_gets_the_estimates_trim() {
    let opts = options(false);
    let mut world = staged(
        vec![failed_with(
            "Error during compaction: API Error: 500 Internal server error",
        )],
        vec![stuck_scan(150_000, 0)],
    );
    world.trim = None;
    world.tool_trim = preview("never offered", 1);
    let mut ui = Scripted::new(
        true,
        &[
            ("symptom", Answer::Enter),
            ("compact", Answer::Enter),
            ("clear", Answer::No),
        ],
    );
    let (code, _) = walk(&mut ui, &mut world, &opts, stuck_scan(150_000, 0));
    assert!(ui.done(), "asked {:?}", ui.asked);
    assert_eq!(code.unwrap(), 1);
    assert_eq!(world.scope, Some(TrimScope::Estimate));
    assert!(
        ui.transcript()
            .contains("the compaction did not fail for the request's size"),
        "{}",
        ui.transcript()
    );
}

#[test]
fn which_failures_are_for_size() {
    for why in [
        REFUSED_429,
        "Compaction failed · attached media exceeds size limits",
        "Compaction failed · conversation could not be reduced below the context limit",
        "claude kept retrying a 429 refusal (retry 2/10); …",
        "after the compaction the context is still 210,000 tokens, not under the 200,000-token window",
    ] {
        assert!(Outcome::Failed(why.into()).failed_for_size(), "{why}");
    }
    for why in [
        "claude reported no compaction result (exit code 1): No conversation found",
        "claude reported success, but no new compact_boundary is in the session file",
    ] {
        assert!(!Outcome::Failed(why.into()).failed_for_size(), "{why}");
    }
    assert!(!Outcome::Done { post_tokens: 1 }.failed_for_size());
}

/// A failure not about size gets the estimate's trim; when the compaction after it is refused
/// for size, the evidence rungs follow.
#[test]
fn a_size_refusal_after_the_estimates_trim_brings_the_evidence_rungs() {
    let opts = options(false);
    let mut world = staged(
        vec![
            failed_with("Error during compaction: API Error: 500 Internal server error"),
            failed_with(REFUSED_429),
            compaction(true),
        ],
        vec![
            stuck_scan(170_000, 0),
            stuck_scan(170_000, 0),
            stuck_scan(170_000, 0),
            stuck_scan(170_000, 0),
            stuck_scan(170_000, 0),
            stuck_scan(4_000, 1),
        ],
    );
    world.trim = preview("2 images", 150_000);
    let (code, _) = walk(
        &mut AssumeYes {
            allow_clear: false,
            quiet: false,
        },
        &mut world,
        &opts,
        stuck_scan(170_000, 0),
    );
    assert_eq!(code.unwrap(), 0);
    assert_eq!(
        world.log,
        [
            "backup".to_owned(),
            format!("run {COMPACT_ARGS}"),
            "trim Estimate".to_owned(),
            format!("run {COMPACT_ARGS}"),
            "trim Media".to_owned(),
            format!("run {COMPACT_ARGS}"),
        ]
    );
}
