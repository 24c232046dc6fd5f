//! The OIDC token file in bodhi-client's layout (`oidcclient.py`: `JSONStorage` keyed `"tokens"`, then by
//! issuer URL without trailing slash; each entry authlib's token dict with `expires_at` in Unix seconds).
//! Files from bodhi-client before per-issuer keys (`{"tokens": {"access_token": ...}}`) are read too and
//! rewritten in the current layout. Writes are atomic (temporary file in the same directory, fsync,
//! rename, directory fsync) with mode 0600. Errors never quote the file's content.

use super::idp::GrantedTokens;
use super::tokens::Secret;
use serde_json::{Map, Value};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// A token file is a few KiB; anything much larger is not one.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The file as read: the whole document (written back with only this issuer's entry changed) and the
/// entry of the issuer.
#[derive(Clone)]
pub(super) struct StoredTokens {
    document: Map<String, Value>,
    entry: Map<String, Value>,
    /// The entry sat directly under `"tokens"` (old bodhi-client layout).
    legacy: bool,
}

/// The entry's keys only: its values are tokens.
impl std::fmt::Debug for StoredTokens {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("StoredTokens")
            .field("entry_keys", &self.entry.keys().collect::<Vec<_>>())
            .field("legacy", &self.legacy)
            .finish()
    }
}

impl StoredTokens {
    /// No file yet: an empty document and entry.
    #[cfg_attr(not(feature = "kerberos"), allow(dead_code))]
    pub fn empty() -> StoredTokens {
        StoredTokens {
            document: Map::new(),
            entry: Map::new(),
            legacy: false,
        }
    }

    /// The access token if it stays valid past `valid_until` (Unix seconds).
    pub fn valid_access_token(&self, valid_until: u64) -> Option<Secret> {
        let expires_at = self.entry.get("expires_at").and_then(seconds)?;
        let token = self.entry.get("access_token")?.as_str()?;
        (expires_at > valid_until && !token.is_empty()).then(|| Secret::new(token.to_owned()))
    }

    pub fn refresh_token(&self) -> Option<Secret> {
        let token = self.entry.get("refresh_token")?.as_str()?;
        (!token.is_empty()).then(|| Secret::new(token.to_owned()))
    }
}

/// authlib writes `expires_at` as an integer; other writers use floats.
fn seconds(value: &Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
}

/// Reads the entry of `issuer`. The error is a reason for an operator, without any of the content.
pub(super) fn load(path: &Path, issuer: &str) -> Result<StoredTokens, String> {
    let document = read_document(path)?.ok_or_else(|| {
        "it does not exist; log in once with the bodhi CLI to create it".to_owned()
    })?;
    let known: Vec<String> = document
        .get("tokens")
        .and_then(Value::as_object)
        .map(|tokens| tokens.keys().cloned().collect())
        .unwrap_or_default();
    entry_of(document, issuer).ok_or_else(|| {
        format!(
            "it holds no tokens for the issuer {issuer} (issuers in the file: {known:?}); log in once with the bodhi CLI against that issuer"
        )
    })
}

/// For a login that makes its own tokens (Kerberos): a missing file, or one without an entry for `issuer`,
/// reads as an empty entry; a file that is there but unreadable or not JSON is still an error.
#[cfg_attr(not(feature = "kerberos"), allow(dead_code))]
pub(super) fn load_or_empty(path: &Path, issuer: &str) -> Result<StoredTokens, String> {
    let document = read_document(path)?.unwrap_or_default();
    Ok(entry_of(document.clone(), issuer).unwrap_or(StoredTokens {
        document,
        ..StoredTokens::empty()
    }))
}

/// The file as a JSON object; `None` when it does not exist.
fn read_document(path: &Path) -> Result<Option<Map<String, Value>>, String> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(format!("cannot open it: {err}")),
    };
    let mut bytes = Vec::new();
    Read::by_ref(&mut file)
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| format!("cannot read it: {err}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("it is larger than {MAX_FILE_BYTES} bytes"));
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(document)) => Ok(Some(document)),
        _ => Err("it is not a JSON object".to_owned()),
    }
}

/// The document with the entry of `issuer`, if it has one.
fn entry_of(document: Map<String, Value>, issuer: &str) -> Option<StoredTokens> {
    let tokens = document.get("tokens").and_then(Value::as_object);
    let legacy = tokens.is_some_and(|tokens| {
        tokens.contains_key("access_token") || tokens.contains_key("refresh_token")
    });
    let entry = if legacy {
        tokens.cloned()
    } else {
        tokens
            .and_then(|tokens| tokens.get(issuer))
            .and_then(Value::as_object)
            .cloned()
    }?;
    Some(StoredTokens {
        document,
        entry,
        legacy,
    })
}

impl StoredTokens {
    /// Takes `granted` (issued at `issued_at`, Unix seconds) as the issuer's entry; a refresh token the IdP
    /// did not rotate is kept.
    pub fn absorb(&mut self, granted: &GrantedTokens, issued_at: u64) {
        let entry = &mut self.entry;
        entry.insert("access_token".into(), granted.access_token.clone().into());
        let token_type = granted.token_type.as_deref().unwrap_or("Bearer");
        entry.insert("token_type".into(), token_type.into());
        match granted.expires_in {
            Some(expires_in) => {
                entry.insert("expires_in".into(), expires_in.into());
                entry.insert(
                    "expires_at".into(),
                    issued_at.saturating_add(expires_in).into(),
                );
            }
            None => {
                // Without a lifetime the token counts as expired: the next login refreshes again.
                entry.remove("expires_in");
                entry.remove("expires_at");
            }
        }
        for (key, value) in [
            ("refresh_token", &granted.refresh_token),
            ("id_token", &granted.id_token),
            ("scope", &granted.scope),
        ] {
            if let Some(value) = value {
                entry.insert(key.into(), value.clone().into());
            }
        }
    }
}

/// Writes the document with `stored`'s entry as the issuer's (an old flat layout becomes per-issuer).
pub(super) fn store(path: &Path, issuer: &str, stored: &StoredTokens) -> io::Result<()> {
    let mut document = stored.document.clone();
    let tokens = document
        .entry("tokens")
        .or_insert_with(|| Value::Object(Map::new()));
    if stored.legacy || !tokens.is_object() {
        *tokens = Value::Object(Map::new());
    }
    if let Value::Object(tokens) = tokens {
        tokens.insert(issuer.to_owned(), Value::Object(stored.entry.clone()));
    }
    let bytes = serde_json::to_vec(&Value::Object(document)).map_err(io::Error::other)?;
    write_atomically(path, &bytes)
}

/// Replaces `path` with `bytes` so that a reader sees the old or the new file, never a torn one, and a
/// crash leaves one of them on disk.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other("the token file path has no file name"))?;
    let temporary = directory.join(format!(
        ".{}.{}.{:08x}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        fastrand::u32(..)
    ));
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)?;
        // The umask can only take bits away; make the mode exactly 0600.
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
        return written;
    }
    // The rename is durable once the directory is; a failure here leaves the new file in place anyway.
    if let Ok(directory) = File::open(directory) {
        let _ = directory.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ISSUER: &str = "https://id.example.org/openidc";

    fn granted(refresh: Option<&str>) -> GrantedTokens {
        GrantedTokens {
            access_token: "new-access".into(),
            token_type: Some("Bearer".into()),
            expires_in: Some(3600),
            refresh_token: refresh.map(str::to_owned),
            id_token: None,
            scope: None,
        }
    }

    #[test]
    fn refreshed_tokens_replace_only_this_issuers_entry_with_mode_0600() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("client.json");
        let original = json!({
            "tokens": {
                ISSUER: {"access_token": "old-access", "refresh_token": "old-refresh", "expires_at": 100,
                         "id_token": "id", "scope": "openid"},
                "https://other.example.org/openidc": {"access_token": "other"}
            },
            "unrelated": 7
        });
        fs::write(&path, original.to_string()).expect("write");
        let mut stored = load(&path, ISSUER).expect("load");
        assert!(stored.valid_access_token(99).is_some());
        assert!(stored.valid_access_token(100).is_none(), "expired at 100");
        stored.absorb(&granted(None), 1_000);
        store(&path, ISSUER, &stored).expect("store");

        let written: Value = serde_json::from_slice(&fs::read(&path).expect("read")).expect("json");
        let entry = &written["tokens"][ISSUER];
        assert_eq!(entry["access_token"], "new-access");
        assert_eq!(entry["expires_at"], 4_600);
        assert_eq!(
            entry["refresh_token"], "old-refresh",
            "not rotated: the old one stays"
        );
        assert_eq!(entry["id_token"], "id");
        assert_eq!(
            written["tokens"]["https://other.example.org/openidc"]["access_token"],
            "other"
        );
        assert_eq!(written["unrelated"], 7);
        let mode = fs::metadata(&path).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .expect("read_dir")
            .filter_map(Result::ok)
            .filter(|entry| entry.file_name() != "client.json")
            .collect();
        assert!(leftovers.is_empty(), "no temporary file left behind");
    }

    #[test]
    fn the_old_flat_layout_is_read_and_rewritten_per_issuer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("client.json");
        fs::write(
            &path,
            json!({"tokens": {"access_token": "a", "refresh_token": "r", "expires_at": 5}})
                .to_string(),
        )
        .expect("write");
        let mut stored = load(&path, ISSUER).expect("load");
        assert_eq!(stored.refresh_token().expect("refresh").expose(), "r");
        stored.absorb(&granted(Some("r2")), 0);
        store(&path, ISSUER, &stored).expect("store");
        let written: Value = serde_json::from_slice(&fs::read(&path).expect("read")).expect("json");
        assert_eq!(
            written["tokens"],
            json!({ISSUER: {"access_token": "new-access", "refresh_token": "r2", "expires_at": 3600,
                             "expires_in": 3600, "token_type": "Bearer"}})
        );
    }

    #[test]
    fn unusable_files_say_why_without_quoting_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("client.json");
        assert!(
            load(&path, ISSUER)
                .expect_err("missing")
                .contains("does not exist")
        );
        fs::write(&path, "{\"tokens\": \"secret-garbage").expect("write");
        let reason = load(&path, ISSUER).expect_err("garbled");
        assert!(!reason.contains("secret-garbage"), "{reason}");
        fs::write(
            &path,
            json!({"tokens": {"https://elsewhere/openidc": {"refresh_token": "hidden"}}})
                .to_string(),
        )
        .expect("write");
        let reason = load(&path, ISSUER).expect_err("other issuer");
        assert!(
            reason.contains("https://elsewhere/openidc") && !reason.contains("hidden"),
            "{reason}"
        );
    }
}
