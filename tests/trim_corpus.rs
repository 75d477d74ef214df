//! `trim` on a real transcript from ../shared/corpus (an MCP screenshot tool, whose result claude
//! keeps under `toolUseResult` as a list of content blocks, images included): the copy is emptied
//! like `file.base64` copies are, the summary and the placeholders give an image the same size
//! (issue 16 point 2), and every line without an image stays byte-identical.
use ccrescue::format::human_bytes;
use ccrescue::trim::{self, ChangeKind, TrimOptions};
use serde_json::Value;

const IMAGES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/corpus/agentlogs__images.jsonl"
);

fn split(bytes: &[u8]) -> Vec<&[u8]> {
    bytes.split(|&b| b == b'\n').collect()
}

#[test]
fn the_list_shaped_tool_use_result_copy_is_emptied_and_sizes_agree() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.jsonl");
    std::fs::copy(IMAGES, &path).unwrap();
    let original = std::fs::read(&path).unwrap();
    let line_22 = split(&original)[21];
    assert!(line_22.len() > 400_000, "the corpus line 22 holds the copy");

    let done = trim::apply(
        &path,
        &TrimOptions {
            all: true,
            ..Default::default()
        },
    )
    .unwrap();
    let after = std::fs::read(&path).unwrap();
    let (old, new) = (split(&original), split(&after));
    assert_eq!(old.len(), new.len());

    // Line 22: both the image in message.content and its copy in toolUseResult are gone.
    let v: Value = serde_json::from_slice(new[21]).unwrap();
    let copy = &v["toolUseResult"];
    assert!(copy.is_array(), "{copy}");
    let image = copy
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "image")
        .expect("the copy's image block stays, emptied");
    assert_eq!(image["source"]["data"], "");
    assert_eq!(image["source"]["media_type"], "image/png");
    assert!(new[21].len() < 5_000, "line 22 is {} bytes", new[21].len());
    assert!(
        done.plan
            .changes
            .iter()
            .any(|c| c.line == 22 && c.kind == ChangeKind::DuplicateCopy)
    );

    // Each image's size in the placeholder is the one the plan gives it, and the summary says
    // which size that is.
    let images: Vec<_> = done
        .plan
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Image)
        .collect();
    assert!(!images.is_empty());
    for c in &images {
        let line = String::from_utf8_lossy(new[c.line as usize - 1]).into_owned();
        let size = human_bytes(c.image_bytes.unwrap());
        assert!(
            line.contains(&format!(", {size} — original in s.jsonl.bak]")),
            "line {}: placeholder without {size}",
            c.line
        );
    }
    let total: u64 = images.iter().map(|c| c.image_bytes.unwrap()).sum();
    let summary = done.plan.summary_lines().join("\n");
    assert!(
        summary.contains(&format!(
            "image{}: {} image data, ",
            if images.len() == 1 { "" } else { "s" },
            human_bytes(total)
        )),
        "{summary}"
    );

    // Every line without a change is byte-identical.
    for (i, (a, b)) in old.iter().zip(&new).enumerate() {
        if !done.plan.changes.iter().any(|c| c.line == i as u64 + 1) {
            assert_eq!(a, b, "line {} changed", i + 1);
        }
    }
}
