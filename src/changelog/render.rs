//! Changelog entries as text: rpm's `%changelog` form as Packit prints it (specfile's
//! `ChangelogEntry.assemble` with a date-only stamp), the fenced block around it, and cutting to a
//! character limit on a character boundary.

use time::OffsetDateTime;

use crate::koji::ChangelogEntry;

/// Closes notes whose changelog was cut: outside the code block, so Bodhi shows it as prose.
const TRUNCATED_NOTE: &str =
    "\n\n(Changelog truncated: the whole does not fit Bodhi's limit on update notes.)";

/// The shortest fence Packit uses; longer when the text itself has a run of three backticks, which
/// would otherwise close the block early.
const MIN_FENCE: usize = 3;

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The entries as Packit joins them: each `* <date> <author>` line, its text lines, a newline; the
/// entries separated by a blank line. Empty for no entries.
pub(super) fn changelog(entries: &[ChangelogEntry]) -> String {
    let rendered: Vec<String> = entries.iter().map(entry).collect();
    rendered.join("\n")
}

fn entry(entry: &ChangelogEntry) -> String {
    // Packit stamps the day only; a time outside what a date can hold shows as the epoch.
    let date =
        OffsetDateTime::from_unix_timestamp(entry.time).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let weekday = WEEKDAYS[usize::from(date.weekday().number_days_from_monday())];
    let month = MONTHS[usize::from(u8::from(date.month()) - 1)];
    let lines: Vec<&str> = split_lines(&entry.text).collect();
    format!(
        "* {weekday} {month} {:02} {} {}\n{}\n",
        date.day(),
        date.year(),
        entry.author,
        lines.join("\n")
    )
}

/// Python's `str.splitlines()`: every line boundary it knows, `\r\n` as one, no empty last line.
fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let is_break = |c: char| {
        matches!(
            c,
            '\n' | '\r'
                | '\x0b'
                | '\x0c'
                | '\x1c'
                | '\x1d'
                | '\x1e'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        )
    };
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let Some(at) = rest.find(is_break) else {
            return Some(std::mem::take(&mut rest));
        };
        let line = &rest[..at];
        let after = &rest[at..];
        let skip = if after.starts_with("\r\n") {
            2
        } else {
            after.chars().next().map_or(1, char::len_utf8)
        };
        rest = &after[skip..];
        Some(line)
    })
}

/// The first `max_chars` characters of `text` (all of it when shorter).
pub(super) fn cut_chars(text: &str, max_chars: usize) -> &str {
    text.char_indices()
        .nth(max_chars)
        .map_or(text, |(at, _)| &text[..at])
}

/// The `##### **Changelog for <package>**` heading and the fence around a changelog.
pub(super) struct Block {
    open: String,
    fence: String,
}

impl Block {
    pub(super) fn new(package: &str, changelog: &str) -> Block {
        let fence = "`".repeat(MIN_FENCE.max(longest_backtick_run(changelog) + 1));
        Block {
            open: format!("\n\n##### **Changelog for {package}**\n\n{fence}\n"),
            fence,
        }
    }

    /// `header`, the heading, `body` in the fence, then `after`.
    pub(super) fn around(&self, header: &str, body: &str, after: &str) -> String {
        format!("{header}{}{body}\n{}{after}", self.open, self.fence)
    }

    /// The notes with as much of `changelog` as fits in `max_len` characters, then the truncation
    /// note. The cut is at the end of a line when that keeps at least half of what would fit.
    pub(super) fn truncated(&self, header: &str, changelog: &str, max_len: usize) -> String {
        let fixed = self.around(header, "", TRUNCATED_NOTE).chars().count();
        let Some(budget) = max_len.checked_sub(fixed).filter(|budget| *budget > 0) else {
            return cut_chars(&format!("{header}{TRUNCATED_NOTE}"), max_len).to_owned();
        };
        let prefix = cut_chars(changelog, budget);
        let body = match prefix.rfind('\n') {
            Some(at) if at >= prefix.len() / 2 => &prefix[..=at],
            _ => prefix,
        };
        self.around(header, body, TRUNCATED_NOTE)
    }
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}
