//! Bodhi updates: the updates a build belongs to (`GET /updates/?builds=`, bodhi.md §4) and creating one
//! (`POST /updates/`, bodhi.md §3) with the login session, logging in again once when Bodhi refuses an
//! expired session.

use super::login::Session;
use super::{Answer, BodhiClient, BodhiError, StatusCode, error_entries, parse_json};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::Arc;

/// An update as fedflow needs it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Update {
    /// `FEDORA-2026-1a2b3c4d5e`.
    pub alias: String,
    /// `pending`, `testing`, `stable`, `unpushed`, `obsolete`, `side_tag_active`, `side_tag_expired`.
    pub status: String,
    /// `testing`, `stable`, `obsolete`, `unpush`, `revoke`, or none.
    pub request: Option<String>,
    /// The NVRs of its builds.
    pub builds: Vec<String>,
    /// Release name, e.g. `F43`.
    pub release: Option<String>,
    pub url: Option<String>,
    /// The submitter's FAS name.
    pub user: Option<String>,
}

impl Update {
    /// Whether this update holds its builds: Bodhi refuses a new update for a build in any update whose
    /// status is not `unpushed` (obsolete ones included, bodhi.md §4).
    pub fn is_active(&self) -> bool {
        self.status != "unpushed"
    }
}

/// What `POST /updates/` is asked to create.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewUpdate {
    pub builds: Vec<String>,
    /// `bugfix`, `security`, `newpackage`, `enhancement`, `unspecified`; sent as `type`.
    pub update_type: String,
    /// `unspecified`, `urgent`, `high`, `medium`, `low`.
    pub severity: String,
    /// 2..10000 characters.
    pub notes: String,
    pub bugs: Vec<u64>,
    pub stable_karma: Option<i64>,
    pub unstable_karma: Option<i64>,
    pub autokarma: Option<bool>,
    pub autotime: Option<bool>,
    pub stable_days: Option<i64>,
    /// `bodhi_extra_params` / `[package.bodhi_update].extra`: merged into the body. Every field above
    /// that is set wins over the same key here; an unset one (`None`) leaves the key to `extra`.
    pub extra: Map<String, Value>,
}

impl NewUpdate {
    /// An update of `builds` with severity `unspecified`, no bugs and Bodhi's defaults for the rest.
    pub fn new(builds: Vec<String>, update_type: &str, notes: &str) -> NewUpdate {
        NewUpdate {
            builds,
            update_type: update_type.to_owned(),
            severity: "unspecified".to_owned(),
            notes: notes.to_owned(),
            bugs: Vec::new(),
            stable_karma: None,
            unstable_karma: None,
            autokarma: None,
            autotime: None,
            stable_days: None,
            extra: Map::new(),
        }
    }

    /// The JSON body of `POST /updates/`. Bugs go as strings: Bodhi joins the list as text.
    pub(super) fn request_body(&self, csrf_token: &str) -> Value {
        let mut body = self.extra.clone();
        let mut set = |key: &str, value: Value| {
            body.insert(key.to_owned(), value);
        };
        set("builds", self.builds.clone().into());
        set("type", self.update_type.clone().into());
        set("severity", self.severity.clone().into());
        set("notes", self.notes.clone().into());
        let bugs: Vec<Value> = self.bugs.iter().map(|bug| bug.to_string().into()).collect();
        set("bugs", bugs.into());
        for (key, value) in [
            ("stable_karma", self.stable_karma.map(Value::from)),
            ("unstable_karma", self.unstable_karma.map(Value::from)),
            ("autokarma", self.autokarma.map(Value::from)),
            ("autotime", self.autotime.map(Value::from)),
            ("stable_days", self.stable_days.map(Value::from)),
        ] {
            if let Some(value) = value {
                set(key, value);
            }
        }
        set("csrf_token", csrf_token.into());
        Value::Object(body)
    }
}

/// An update as Bodhi serializes it; only the fields [`Update`] keeps.
#[derive(Deserialize)]
struct UpdateJson {
    alias: String,
    status: String,
    #[serde(default)]
    request: Option<String>,
    #[serde(default)]
    builds: Vec<BuildJson>,
    #[serde(default)]
    release: Option<NamedJson>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    user: Option<NamedJson>,
}

#[derive(Deserialize)]
struct BuildJson {
    nvr: String,
}

#[derive(Deserialize)]
struct NamedJson {
    name: String,
}

impl From<UpdateJson> for Update {
    fn from(json: UpdateJson) -> Update {
        Update {
            alias: json.alias,
            status: json.status,
            request: json.request,
            builds: json.builds.into_iter().map(|build| build.nvr).collect(),
            release: json.release.map(|release| release.name),
            url: json.url,
            user: json.user.map(|user| user.name),
        }
    }
}

/// The answer to a create: one update, or `{"updates": [...]}` when the builds span several releases.
#[derive(Deserialize)]
#[serde(untagged)]
enum Created {
    Split { updates: Vec<UpdateJson> },
    One(UpdateJson),
}

impl BodhiClient {
    /// `GET /updates/?builds=<nvr>`, every page: the updates that contain the build, whatever their status.
    pub async fn updates_for_build(&self, nvr: &str) -> Result<Vec<Update>, BodhiError> {
        let updates: Vec<UpdateJson> = self.get_all_pages("updates", &[("builds", nvr)]).await?;
        Ok(updates.into_iter().map(Update::from).collect())
    }

    /// Logs in when needed, then `POST /updates/` and returns the update (the first one when Bodhi splits
    /// the builds by release). A refused session (401, a permission-check 403, a CSRF mismatch) gets one
    /// fresh login; a second refusal is an auth error. A 5xx or a timeout does not say whether Bodhi
    /// created the update: look it up with [`Self::updates_for_build`] before asking again.
    pub async fn create_update(&self, update: &NewUpdate) -> Result<Update, BodhiError> {
        let url = self.collection_url(&["updates"], &[]);
        let path = url.path().to_owned();
        let Some(login) = &self.login else {
            return Err(BodhiError::ReadOnly {
                method: "POST",
                path,
            });
        };
        let mut relogged = false;
        loop {
            let session = login.session(self).await?;
            let answer = self
                .post_update(url.clone(), &path, &session, update)
                .await?;
            session.absorb(&answer.set_cookies);
            if answer.status == StatusCode::OK {
                let created: Created = parse_json("POST", &path, &answer.body?)?;
                return first_update(created, &path);
            }
            if !refused_session(&answer) {
                return Err(answer.into_error("POST", &path));
            }
            login.discard(&session).await;
            if relogged {
                let error = answer.into_error("POST", &path);
                return Err(BodhiError::Auth {
                    reason: format!(
                        "Bodhi refused a fresh session from {} ({error})",
                        login.token_source()
                    ),
                });
            }
            tracing::info!(
                bodhi = %self.base,
                status = answer.status.as_u16(),
                "Bodhi refused the session; logging in again"
            );
            relogged = true;
        }
    }

    async fn post_update(
        &self,
        url: reqwest::Url,
        path: &str,
        session: &Arc<Session>,
        update: &NewUpdate,
    ) -> Result<Answer, BodhiError> {
        let body = update.request_body(session.csrf_token());
        let bytes = serde_json::to_vec(&body).map_err(|err| BodhiError::InvalidJson {
            method: "POST",
            path: path.to_owned(),
            detail: err.to_string(),
        })?;
        let mut request = self
            .http
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(bytes);
        if let Some(cookies) = session.cookie_header() {
            request = request.header(reqwest::header::COOKIE, cookies);
        }
        self.send(request, "POST", path).await
    }
}

fn first_update(created: Created, path: &str) -> Result<Update, BodhiError> {
    match created {
        Created::One(update) => Ok(update.into()),
        Created::Split { updates } => {
            updates
                .into_iter()
                .next()
                .map(Update::from)
                .ok_or_else(|| BodhiError::InvalidJson {
                    method: "POST",
                    path: path.to_owned(),
                    detail: "an empty list of created updates".to_owned(),
                })
        }
    }
}

/// Whether Bodhi refused the session rather than the update: 401; 403 from Pyramid's permission check
/// (an expired `auth_tkt` makes the caller anonymous) but not the ACL check's "does not have commit
/// access"; a CSRF mismatch (the `session` cookie expired).
fn refused_session(answer: &Answer) -> bool {
    let entries = answer
        .body
        .as_deref()
        .map(error_entries)
        .unwrap_or_default();
    match answer.status {
        StatusCode::UNAUTHORIZED => true,
        StatusCode::FORBIDDEN => {
            entries.is_empty()
                || entries
                    .iter()
                    .any(|entry| entry.description.contains("failed permission check"))
        }
        StatusCode::BAD_REQUEST => entries.iter().any(|entry| {
            entry.name.as_deref() == Some("csrf_token")
                || entry.description.starts_with("CSRF tokens do not match")
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn explicit_fields_win_over_extra_and_unset_ones_leave_it_alone() {
        let mut update = NewUpdate::new(
            vec!["fedflow-1.0-1.fc43".into()],
            "enhancement",
            "Automatic update for fedflow-1.0-1.fc43.",
        );
        update.bugs = vec![2_345_678, 42];
        update.stable_karma = Some(2);
        update.extra = json!({
            "type": "security", "notes": "hijacked", "builds": ["other-1-1.fc43"], "csrf_token": "forged",
            "stable_karma": 9, "unstable_karma": -5, "suggest": "reboot", "display_name": "Fedflow"
        })
        .as_object()
        .cloned()
        .expect("object");
        assert_eq!(
            update.request_body("token-1"),
            json!({
                "builds": ["fedflow-1.0-1.fc43"], "type": "enhancement", "severity": "unspecified",
                "notes": "Automatic update for fedflow-1.0-1.fc43.", "bugs": ["2345678", "42"],
                "stable_karma": 2, "unstable_karma": -5, "suggest": "reboot", "display_name": "Fedflow",
                "csrf_token": "token-1"
            })
        );
    }

    #[test]
    fn updates_read_from_bodhis_shapes() {
        let one = json!({"alias": "FEDORA-2026-0123456789", "status": "pending", "request": "testing",
            "builds": [{"nvr": "a-1-1.fc43", "signed": false}], "release": {"name": "F43"},
            "url": "https://bodhi/updates/FEDORA-2026-0123456789", "user": {"name": "bot"}, "karma": 0});
        let created: Created = serde_json::from_value(one.clone()).expect("one");
        let update = first_update(created, "/updates/").expect("update");
        assert_eq!(update.release.as_deref(), Some("F43"));
        assert_eq!(update.builds, ["a-1-1.fc43"]);
        assert!(update.is_active());
        let mut second = one.clone();
        second["alias"] = json!("FEDORA-2026-ffffffffff");
        let split = json!({"updates": [one, second], "caveats": [{"name": "builds", "description": "split"}]});
        let created: Created = serde_json::from_value(split).expect("split");
        assert_eq!(
            first_update(created, "/updates/").expect("first").alias,
            "FEDORA-2026-0123456789"
        );
        let empty: Created = serde_json::from_value(json!({"updates": []})).expect("empty");
        assert_eq!(
            first_update(empty, "/updates/").expect_err("empty").kind(),
            "invalid_json"
        );
    }
}
