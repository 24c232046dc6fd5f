//! Bugzilla ids a changelog says it closes, found with Packit's (and Bodhi's) pattern
//! `(fix(es)?|close(s)?|resolve(s)?):? (fedora|epel|rh(bz)?)#(\d{5,})`, case-insensitive, matched by
//! hand (the tree has no regex engine). Every alternative in the pattern is decided by its next
//! character, so a left-to-right scan without backtracking finds exactly what Python's
//! `re.finditer` finds, apart from the deviations listed on [`bug_ids`].

/// Most bug ids taken from one update's notes; Bodhi looks each up in Bugzilla when saving.
pub const MAX_BUGS: usize = 100;

/// Fewest digits of an id the pattern accepts (`\d{5,}`).
const MIN_DIGITS: usize = 5;

const VERBS: [(&str, &str); 3] = [("fix", "es"), ("close", "s"), ("resolve", "s")];
const TRACKERS: [&str; 3] = ["fedora", "epel", "rh"];

/// The ids referenced as `fixes rhbz#123456`, `Resolves: fedora#12345`, … in `text`, deduplicated,
/// in order of first mention, at most [`MAX_BUGS`]. Like Python's `re.IGNORECASE`, `ı` matches `i`
/// and `ſ` matches `s`; `\s` is one character that Python's `str.isspace` accepts. Deviations: only
/// ASCII digits make an id (Python's `\d` takes any decimal digit), and an id too large for a `u64`
/// is skipped (Bodhi could not store it).
pub fn bug_ids(text: &str) -> Vec<u64> {
    let mut bugs: Vec<u64> = Vec::new();
    let bytes = text.as_bytes();
    let mut at = 0;
    while bugs.len() < MAX_BUGS {
        // Every verb starts with an ASCII letter, and an ASCII byte is always a char boundary.
        let Some(skip) = bytes[at..].iter().position(|byte| starts_verb(*byte)) else {
            break;
        };
        at += skip;
        match reference_at(&text[at..]) {
            Some((digits, length)) => {
                if let Ok(id) = digits.parse::<u64>()
                    && !bugs.contains(&id)
                {
                    bugs.push(id);
                }
                at += length;
            }
            None => at += 1,
        }
    }
    bugs
}

/// The first letters of [`VERBS`], either case.
fn starts_verb(byte: u8) -> bool {
    matches!(byte.to_ascii_lowercase(), b'f' | b'c' | b'r')
}

/// A reference starting at the beginning of `text`: its digits and the byte length of the match.
fn reference_at(text: &str) -> Option<(&str, usize)> {
    let mut cursor = Cursor { text, at: 0 };
    let (_, suffix) = VERBS.iter().find(|(verb, _)| cursor.eat(verb))?;
    cursor.eat(suffix);
    cursor.eat(":");
    if !cursor.eat_one(is_python_space) {
        return None;
    }
    let tracker = TRACKERS.iter().find(|tracker| cursor.eat(tracker))?;
    if *tracker == "rh" {
        cursor.eat("bz");
    }
    if !cursor.eat("#") {
        return None;
    }
    let start = cursor.at;
    while cursor.eat_one(|c| c.is_ascii_digit()) {}
    let digits = &text[start..cursor.at];
    (digits.len() >= MIN_DIGITS).then_some((digits, cursor.at))
}

/// A position in the text being matched; `eat*` advance it only on a match.
struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl Cursor<'_> {
    /// Consumes `word` (ASCII, lower case) if the text continues with it, ignoring case.
    fn eat(&mut self, word: &str) -> bool {
        let mut chars = self.text[self.at..].char_indices();
        for expected in word.chars() {
            match chars.next() {
                Some((_, c)) if same_letter(c, expected) => {}
                _ => return false,
            }
        }
        self.at += chars
            .next()
            .map_or(self.text.len() - self.at, |(offset, _)| offset);
        true
    }

    fn eat_one(&mut self, accept: impl Fn(char) -> bool) -> bool {
        match self.text[self.at..].chars().next() {
            Some(c) if accept(c) => {
                self.at += c.len_utf8();
                true
            }
            _ => false,
        }
    }
}

/// `c` equals the lower-case ASCII `expected` under Python's case-insensitive matching, including
/// the two non-ASCII letters its `re` module folds onto letters of this pattern.
fn same_letter(c: char, expected: char) -> bool {
    c.to_ascii_lowercase() == expected
        || (expected == 'i' && c == '\u{131}')
        || (expected == 's' && c == '\u{17f}')
}

/// Python's `str.isspace()`: Unicode white space plus the ASCII separators U+001C..U+001F.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}
