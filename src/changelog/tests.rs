//! Bug-id matching (hits, near misses, short ids, several per line, duplicates, Python's case and
//! space rules), the changelog cut against a baseline, and the notes: Packit's layout, the length
//! limit with multi-byte text at the cut, and odd input.

use super::*;

fn entry(time: i64, author: &str, text: &str) -> ChangelogEntry {
    ChangelogEntry {
        time,
        author: author.to_owned(),
        text: text.to_owned(),
    }
}

/// 2024-03-05 (a Tuesday) and 2024-02-01 (a Thursday), midnight UTC.
const MAR_05: i64 = 1_709_596_800;
const FEB_01: i64 = 1_706_745_600;

#[test]
fn bug_ids_match_each_verb_and_tracker() {
    let text = "fix rhbz#10001 fixes rh#10002 close fedora#10003 closes epel#10004 \
                resolve rhbz#10005 resolves: rhbz#10006";
    assert_eq!(
        bug_ids(text),
        vec![10001, 10002, 10003, 10004, 10005, 10006]
    );
}

#[test]
fn bug_ids_ignore_case_like_python() {
    assert_eq!(bug_ids("FIXES: RHBZ#123456"), vec![123456]);
    assert_eq!(bug_ids("Resolves: Fedora#234567"), vec![234567]);
    // Python's re folds dotless i onto i and long s onto s under IGNORECASE.
    assert_eq!(
        bug_ids("f\u{131}x rhbz#345678 clo\u{17f}e rhbz#456789"),
        vec![345678, 456789]
    );
}

#[test]
fn bug_ids_reject_near_misses() {
    for text in [
        "fixes rhbz 123456",   // no '#'
        "fixes #123456",       // no tracker
        "fixes  rhbz#123456",  // two spaces: the pattern takes exactly one
        "fixes:: rhbz#123456", // the colon is optional, not repeated
        "fixed rhbz#123456",   // not a verb of the pattern
        "fixes rhbugzilla#123456",
        "fixes bz#123456",
        "fixes rhbz#",
        "fixes rhbz#abcdef",
        "rhbz#123456",              // no verb
        "fixes\u{2013}rhbz#123456", // an en dash is not a space
    ] {
        assert_eq!(bug_ids(text), Vec::<u64>::new(), "{text:?}");
    }
}

#[test]
fn bug_ids_need_five_digits() {
    assert_eq!(bug_ids("fixes rhbz#1234"), Vec::<u64>::new());
    assert_eq!(bug_ids("fixes rhbz#12345"), vec![12345]);
    // Digits run on greedily and letters after them end the id, as `\d{5,}` does.
    assert_eq!(bug_ids("fixes rhbz#1234567890x"), vec![1_234_567_890]);
}

#[test]
fn bug_ids_find_several_per_line_dedup_in_order() {
    let text = "- Fixes rhbz#222222, fixes rhbz#111111 and resolves: rhbz#222222\n\
                - closes epel#111111 closes epel#333333";
    assert_eq!(bug_ids(text), vec![222222, 111111, 333333]);
}

#[test]
fn bug_ids_match_inside_words_and_other_spaces_like_python() {
    // The pattern has no word boundary: "prefixes" contains "fixes".
    assert_eq!(bug_ids("prefixes rhbz#123456"), vec![123456]);
    assert_eq!(bug_ids("fixes\trhbz#123456"), vec![123456]);
    assert_eq!(bug_ids("fixes:\nrhbz#123456"), vec![123456]);
    assert_eq!(bug_ids("fixes\u{a0}rhbz#123456"), vec![123456]);
    assert_eq!(bug_ids("fixes\u{1f}rhbz#123456"), vec![123456]);
}

#[test]
fn bug_ids_skip_ids_beyond_u64_and_stop_at_the_cap() {
    assert_eq!(
        bug_ids("fixes rhbz#123456789012345678901234567890"),
        Vec::<u64>::new()
    );
    let many: String = (0..MAX_BUGS + 20)
        .map(|n| format!("fixes rhbz#{} ", 100_000 + n))
        .collect();
    let bugs = bug_ids(&many);
    assert_eq!(bugs.len(), MAX_BUGS);
    assert_eq!(bugs.first(), Some(&100_000));
}

#[test]
fn bug_ids_survive_odd_input() {
    for text in [
        "",
        "f",
        "fixes",
        "fixes ",
        "fixes rh",
        "fixes rhbz#1",
        "é#ü fix€s rhbz#12345",
    ] {
        let _ = bug_ids(text);
    }
    assert_eq!(bug_ids("ÿfixes rhbz#12345ÿ"), vec![12345]);
}

#[test]
fn entries_since_keeps_what_is_newer_than_the_baseline() {
    let old = entry(FEB_01, "A <a@x> - 1-1", "- one");
    let new = [
        entry(MAR_05, "A <a@x> - 1-3", "- three"),
        entry(MAR_05 - 86_400, "A <a@x> - 1-2", "- two"),
        old.clone(),
    ];
    assert_eq!(entries_since(&new, std::slice::from_ref(&old)), &new[..2]);
    assert_eq!(entries_since(&new, &[]), &new[..]);
    assert!(entries_since(&new, &new).is_empty());
    // A baseline newer than everything (a downgrade) leaves nothing.
    assert!(entries_since(&new[2..], &new[..1]).is_empty());
}

#[test]
fn entries_since_keeps_a_second_entry_of_the_same_day() {
    let stable = entry(MAR_05, "A <a@x> - 1-1", "- first of the day");
    let new = [
        entry(MAR_05, "A <a@x> - 1-2", "- second of the day"),
        stable.clone(),
    ];
    assert_eq!(
        entries_since(&new, std::slice::from_ref(&stable)),
        &new[..1]
    );
}

#[test]
fn notes_follow_packits_layout() {
    let entries = [
        entry(
            MAR_05,
            "Jane Doe <jane@example.org> - 1.2-1",
            "- Update to 1.2\n- Fixes rhbz#2345678",
        ),
        entry(
            FEB_01,
            "John Roe <john@example.org> - 1.1-1",
            "- Update to 1.1",
        ),
    ];
    let notes = update_notes("hello-1.2-1.fc43", "hello", &entries, BODHI_NOTES_MAX);
    let expected = "Automatic update for hello-1.2-1.fc43.\n\n\
        ##### **Changelog for hello**\n\n```\n\
        * Tue Mar 05 2024 Jane Doe <jane@example.org> - 1.2-1\n- Update to 1.2\n- Fixes rhbz#2345678\n\n\
        * Thu Feb 01 2024 John Roe <john@example.org> - 1.1-1\n- Update to 1.1\n\n```";
    assert_eq!(notes.notes, expected);
    assert_eq!(notes.bugs, vec![2_345_678]);
}

#[test]
fn notes_without_entries_are_the_header_only() {
    let notes = update_notes("hello-1.2-1.fc43", "hello", &[], BODHI_NOTES_MAX);
    assert_eq!(notes.notes, "Automatic update for hello-1.2-1.fc43.");
    assert!(notes.bugs.is_empty());
}

#[test]
fn text_lines_are_split_as_python_splitlines_does() {
    let entries = [entry(MAR_05, "A", "- a\r\n- b\r- c\u{2028}- d\n")];
    let notes = update_notes("p-1-1", "p", &entries, BODHI_NOTES_MAX).notes;
    assert!(
        notes.contains("* Tue Mar 05 2024 A\n- a\n- b\n- c\n- d\n\n```"),
        "{notes}"
    );
}

#[test]
fn a_fence_in_the_text_gets_a_longer_fence() {
    let entries = [entry(MAR_05, "A", "```\n- escaped?\n````")];
    let notes = update_notes("p-1-1", "p", &entries, BODHI_NOTES_MAX).notes;
    assert!(notes.contains("\n\n`````\n* Tue"), "{notes}");
    assert!(notes.ends_with("\n`````"), "{notes}");
}

#[test]
fn long_notes_are_cut_to_the_limit_and_say_so() {
    let entries: Vec<ChangelogEntry> = (0..500)
        .map(|n| {
            entry(
                MAR_05 - n * 86_400,
                "A <a@x> - 1-1",
                &format!("- change {n}, fixes rhbz#{}", 100_000 + n),
            )
        })
        .collect();
    let notes = update_notes("p-1-1", "p", &entries, BODHI_NOTES_MAX);
    let length = notes.notes.chars().count();
    assert!(length <= BODHI_NOTES_MAX, "{length}");
    assert!(length > BODHI_NOTES_MAX / 2, "{length}");
    assert!(
        notes.notes.ends_with(
            "(Changelog truncated: the whole does not fit Bodhi's limit on update notes.)"
        )
    );
    // Cut at a line end, and the block is still closed before the note.
    assert!(
        notes.notes.contains("\n\n```\n\n(Changelog truncated"),
        "{}",
        &notes.notes[length - 200..]
    );
    // Bugs come from the whole changelog, not only the part that fits.
    assert_eq!(notes.bugs.len(), MAX_BUGS);
}

#[test]
fn cuts_land_on_char_boundaries_for_any_limit() {
    // One long line of multi-byte characters (2, 3 and 4 bytes) forces a cut inside the line.
    let text: String = "žluťoučký kůň ☃ 𝄞 ".repeat(800);
    let entries = [entry(MAR_05, "Ŝtefan Ŭ <s@x> - 1-1", &text)];
    for max_len in [
        0,
        1,
        5,
        30,
        60,
        100,
        101,
        102,
        103,
        250,
        1000,
        4097,
        BODHI_NOTES_MAX,
    ] {
        let notes = update_notes("p-1-1", "p", &entries, max_len).notes;
        assert!(
            notes.chars().count() <= max_len,
            "{max_len}: {}",
            notes.chars().count()
        );
        if max_len >= 250 {
            assert!(
                notes.starts_with("Automatic update for p-1-1."),
                "{max_len}"
            );
            assert!(notes.contains("Changelog truncated"), "{max_len}");
        }
    }
}

#[test]
fn odd_entries_do_not_panic() {
    let entries = [
        entry(i64::MAX, "", ""),
        entry(i64::MIN, "\n", "\r\n\r\n"),
        entry(-1, "x", "\u{85}"),
    ];
    let notes = update_notes("p-1-1", "p", &entries, BODHI_NOTES_MAX);
    assert!(
        notes.notes.contains("* Thu Jan 01 1970 \n"),
        "{}",
        notes.notes
    );
    let _ = update_notes("", "", &entries, 3);
}
