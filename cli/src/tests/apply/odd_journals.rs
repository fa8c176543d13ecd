//! Apply with a journal the system refuses to look up, or with a line exactly as long as the limit.

use super::*;

#[test]
fn a_journal_whose_name_the_system_refuses_stops_apply_before_anything_is_sent() {
    // A plan named so long that FILE.journal is over the 255 bytes a name
    // may have: looking the journal up fails, and not as "no such file".
    let fake = FakeServer::start().unwrap();
    let ids = vec![seed(&fake, "ci", None)];
    let file = scratch("apply-journal-name").join(format!("{}.jsonl", "p".repeat(244)));
    write_plan(&file, &fake.base_url(), &ids);

    let (code, out, err) = apply(&fake, &file, "");

    assert_eq!((code, out.as_str()), (2, ""));
    let head = format!(
        "error: could not read the journal {}: ",
        crate::journal::journal_path(&file).display()
    );
    assert!(err.starts_with(&head), "{err}");
    assert!(deletes(&fake).is_empty());
    remove(&file);
}

#[test]
fn a_journal_line_as_long_as_the_limit_is_read() {
    let fake = FakeServer::start().unwrap();
    let (ids, file) = planned(&fake, "apply-journal-long-line", 2);
    // The first id failed once, with an error padded so that its line,
    // newline included, is exactly the longest a line may be.
    let entry = |pad: usize| {
        json!({"id": ids[0], "outcome": "failed", "error": "x".repeat(pad)}).to_string()
    };
    let pad = crate::plan::MAX_LINE as usize - 1 - entry(0).len();
    let line = format!("{}\n", entry(pad));
    assert_eq!(line.len() as u64, crate::plan::MAX_LINE);
    std::fs::write(crate::journal::journal_path(&file), line).unwrap();

    let (code, _, err) = apply(&fake, &file, "");

    assert_eq!(code, 0, "{err}");
    assert!(live_project_tokens(&fake).is_empty());
    remove(&file);
}
