//! Validation of untrusted names (package, group, git ref) before they become URL path segments.
//!
//! Names arrive from the message bus. Anything that could change the shape of the URL (`/` in a package
//! name, `..`, control characters) is refused with an error rather than encoded into a surprising request.

use super::DistGitError;

/// Longest name accepted; git and Pagure allow more, but nothing real comes close.
const MAX_NAME_LEN: usize = 255;

/// The offending value as kept in the error: bounded, since it comes from the bus.
fn excerpt(value: &str) -> String {
    value.chars().take(80).collect()
}

/// A package or group name: Pagure's project-name alphabet (`[A-Za-z0-9_][A-Za-z0-9_.+-]*`).
pub(crate) fn check_simple_name(what: &'static str, value: &str) -> Result<(), DistGitError> {
    let invalid = |reason| DistGitError::InvalidName {
        what,
        value: excerpt(value),
        reason,
    };
    let first = value.chars().next().ok_or_else(|| invalid("empty"))?;
    if value.len() > MAX_NAME_LEN {
        return Err(invalid("too long"));
    }
    if !(first.is_ascii_alphanumeric() || first == '_') {
        return Err(invalid("must start with a letter, digit or '_'"));
    }
    if value.contains("..") {
        return Err(invalid("contains '..'"));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-'))
    {
        return Err(invalid("only letters, digits and '_.+-' are allowed"));
    }
    Ok(())
}

/// A branch name or commit id, checked with git's own ref-name rules (`git check-ref-format`), and split
/// into its `/`-separated components: the raw route matches branch names containing `/` only when the
/// slashes stay literal, so each component becomes its own (percent-encoded) path segment.
pub(crate) fn ref_segments(value: &str) -> Result<Vec<&str>, DistGitError> {
    let invalid = |reason| DistGitError::InvalidName {
        what: "git ref",
        value: excerpt(value),
        reason,
    };
    if value.is_empty() {
        return Err(invalid("empty"));
    }
    if value.len() > MAX_NAME_LEN {
        return Err(invalid("too long"));
    }
    if value.chars().any(|c| {
        c.is_control() || c.is_whitespace() || matches!(c, '~' | '^' | ':' | '?' | '*' | '[' | '\\')
    }) {
        return Err(invalid("contains a control, space or ~^:?*[\\ character"));
    }
    if value.contains("..") || value.contains("@{") || value == "@" {
        return Err(invalid("contains '..' or '@{'"));
    }
    if value.ends_with('.') || value.ends_with(".lock") {
        return Err(invalid("ends with '.' or '.lock'"));
    }
    let segments: Vec<&str> = value.split('/').collect();
    if segments
        .iter()
        .any(|segment| segment.is_empty() || segment.starts_with('.'))
    {
        return Err(invalid("has an empty component or one starting with '.'"));
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_of_fedora_shapes_pass() {
        for name in [
            "foo",
            "python-requests",
            "gtk+",
            "perl-Foo-Bar",
            "R_x",
            "0ad",
            "libstdc++",
        ] {
            assert!(check_simple_name("package", name).is_ok(), "{name}");
        }
    }

    #[test]
    fn package_names_that_would_change_the_url_are_refused() {
        for name in [
            "", "a/b", "..", "a..b", ".hidden", "-x", "a b", "a\nb", "a%2fb", "a?b", "a#b",
        ] {
            let err = check_simple_name("package", name).expect_err(name);
            assert_eq!(err.kind(), "invalid_name", "{name}");
            assert!(!err.is_transient());
        }
    }

    #[test]
    fn refs_split_at_slashes() {
        assert_eq!(ref_segments("rawhide").ok(), Some(vec!["rawhide"]));
        assert_eq!(
            ref_segments("user/topic#1").ok(),
            Some(vec!["user", "topic#1"])
        );
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(ref_segments(sha).ok(), Some(vec![sha]));
    }

    #[test]
    fn malformed_refs_are_refused() {
        for git_ref in [
            "", "a/../b", "..", "/a", "a/", "a//b", "a b", "a\u{7}b", "a~1", "a^", "a:b", "x.lock",
            "a/.b", "a@{1}", "a.",
        ] {
            assert!(ref_segments(git_ref).is_err(), "{git_ref:?}");
        }
    }
}
