//! The cookies of one Bodhi login session. Bodhi sets two: `auth_tkt` (Pyramid's authentication ticket,
//! from `/oidc/login-token`) and `session` (Pyramid's signed session holding the CSRF token, from
//! `/csrf`); a write call must send both. They only ever go back to the Bodhi instance that set them, so
//! a name → value map is the whole jar (no domain or path matching). Values are secrets: never logged.

use std::collections::BTreeMap;
use std::fmt;

#[derive(Clone, Default)]
pub(super) struct CookieJar {
    cookies: BTreeMap<String, String>,
}

impl fmt::Debug for CookieJar {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_set().entries(self.cookies.keys()).finish()
    }
}

impl CookieJar {
    /// Applies `Set-Cookie` header values: a new value replaces the old one (Pyramid reissues `auth_tkt`),
    /// an empty value, `Max-Age=0` or an `Expires` in 1970 deletes the cookie (Pyramid's `forget`).
    pub fn absorb<'a>(&mut self, set_cookies: impl IntoIterator<Item = &'a String>) {
        for header in set_cookies {
            let mut parts = header.split(';');
            let Some((name, value)) = parts.next().and_then(|pair| pair.split_once('=')) else {
                continue;
            };
            let name = name.trim();
            if name.is_empty() {
                continue;
            }
            let value = value.trim().trim_matches('"');
            let deleted = value.is_empty()
                || parts.any(|attribute| {
                    let attribute = attribute.trim().to_ascii_lowercase();
                    attribute == "max-age=0"
                        || (attribute.starts_with("expires=") && attribute.contains("1970"))
                });
            if deleted {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.cookies.contains_key(name)
    }

    /// The `Cookie` request header, `None` when the jar is empty.
    pub fn header(&self) -> Option<String> {
        if self.cookies.is_empty() {
            return None;
        }
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        Some(pairs.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::CookieJar;

    fn absorb(jar: &mut CookieJar, headers: &[&str]) {
        let headers: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
        jar.absorb(&headers);
    }

    #[test]
    fn keeps_the_latest_value_of_each_cookie_and_sends_them_all() {
        let mut jar = CookieJar::default();
        assert_eq!(jar.header(), None);
        absorb(
            &mut jar,
            &[
                "auth_tkt=\"abc!userid_type:b64unicode\"; Max-Age=86400; Path=/; secure; HttpOnly; SameSite=Strict",
                "session=s1; Path=/; HttpOnly",
            ],
        );
        absorb(&mut jar, &["session=s2; Path=/"]);
        assert!(jar.contains("auth_tkt"));
        assert_eq!(
            jar.header().as_deref(),
            Some("auth_tkt=abc!userid_type:b64unicode; session=s2")
        );
        assert_eq!(format!("{jar:?}"), r#"{"auth_tkt", "session"}"#);
    }

    #[test]
    fn forget_headers_delete_the_cookie() {
        let mut jar = CookieJar::default();
        absorb(&mut jar, &["auth_tkt=abc; Path=/", "session=s; Path=/"]);
        absorb(
            &mut jar,
            &[
                "auth_tkt=; Max-Age=0; Path=/; expires=Wed, 31-Dec-97 23:59:59 GMT",
                "session=gone; Path=/; Max-Age=0",
                "garbage without equals sign",
            ],
        );
        assert_eq!(jar.header(), None);
    }
}
