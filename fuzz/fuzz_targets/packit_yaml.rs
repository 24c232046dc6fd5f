//! Fuzzes `fedflow::packit::parse` with the input as text (lossy UTF-8 where it is not UTF-8; the
//! dist-git client hands the parser text). Invariants: no panic; a selected job always has branches;
//! notes are unique; an error's position, when it has one, lies within the text.
#![no_main]

use fedflow::packit::{PackitError, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match parse(&text) {
        Ok(config) => {
            assert!(
                config
                    .koji_build
                    .iter()
                    .all(|job| !job.dist_git_branches.is_empty())
            );
            assert!(
                config
                    .bodhi_update
                    .iter()
                    .all(|job| !job.dist_git_branches.is_empty())
            );
            for (index, note) in config.notes.iter().enumerate() {
                assert!(!config.notes[..index].contains(note), "note twice: {note}");
            }
        }
        Err(PackitError {
            line,
            column,
            message,
        }) => {
            assert!(!message.is_empty());
            // YAML breaks lines at CR, LF, CRLF, NEL, LS and PS. libyaml puts the end of the stream on a new
            // line of its own when the text does not end with a break: an error there may be two lines on.
            let breaks = text
                .matches(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'])
                .count();
            assert!(
                line <= breaks + 2,
                "line {line} of a text with {breaks} line breaks"
            );
            assert!(line == 0 || column >= 1);
        }
    }
});
