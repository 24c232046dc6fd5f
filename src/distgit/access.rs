//! Packit's account matching (`allowed_committers`, `allowed_pr_authors`, `allowed_builders`) against
//! dist-git data: plain names, `all_admins`, `all_committers` and `@group` entries (packit-config.md §4,
//! distgit.md §7).

use super::{DistGitClient, DistGitError, ProjectAccess};
use std::collections::BTreeMap;
use tracing::warn;

/// Allowlist entry admitting the project's owner, admin users and members of admin groups.
pub const ALL_ADMINS: &str = "all_admins";
/// Allowlist entry admitting everyone `all_admins` admits plus commit users and members of commit groups.
pub const ALL_COMMITTERS: &str = "all_committers";

impl ProjectAccess {
    /// Owner ∪ admin users ∪ members of admin groups. Collaborator and ticket levels never count.
    pub fn is_admin(&self, account: &str) -> bool {
        contains(&self.owner, account)
            || contains(&self.admin_users, account)
            || self.in_any_group(&self.admin_groups, account)
    }

    /// [`is_admin`](Self::is_admin) ∪ commit users ∪ members of commit groups.
    pub fn is_committer(&self, account: &str) -> bool {
        self.is_admin(account)
            || contains(&self.commit_users, account)
            || self.in_any_group(&self.commit_groups, account)
    }

    fn in_any_group(&self, groups: &[String], account: &str) -> bool {
        groups.iter().any(|group| {
            self.group_members
                .get(group)
                .is_some_and(|members| contains(members, account))
        })
    }
}

fn contains(names: &[String], account: &str) -> bool {
    names.iter().any(|name| name == account)
}

/// Which entry of `allowlist` admits `account` for `package`: plain names first (no API call), then
/// `all_admins`, `all_committers` (project ACLs, fetched at most once), then `@group` entries in list order
/// (one group lookup each). A missing project admits nobody through `all_*`. A group lookup that fails
/// permanently (unknown group, unusable name) is logged and skipped; a transient failure is returned so the
/// caller retries the whole decision later.
pub async fn admitted_by(
    client: &DistGitClient,
    package: &str,
    account: &str,
    allowlist: &[String],
) -> Result<Option<String>, DistGitError> {
    if account.is_empty() {
        return Ok(None);
    }
    if let Some(entry) = plain_match(account, allowlist) {
        return Ok(Some(entry));
    }
    if allowlist
        .iter()
        .any(|entry| entry == ALL_ADMINS || entry == ALL_COMMITTERS)
    {
        match client.project(package).await? {
            Some(project) => {
                if let Some(entry) = project_match(account, allowlist, &project) {
                    return Ok(Some(entry));
                }
            }
            None => warn!(
                package,
                "dist-git project not found: all_admins/all_committers admit nobody"
            ),
        }
    }
    for (entry, group) in group_entries(allowlist) {
        match client.group_members(group).await {
            Ok(Some(members)) if contains(&members, account) => return Ok(Some(entry.clone())),
            Ok(Some(_)) => {}
            Ok(None) => warn!(
                package,
                group, "dist-git group not found: allowlist entry skipped"
            ),
            Err(err) if err.is_transient() => return Err(err),
            Err(err) => {
                warn!(package, group, error = %err, "dist-git group lookup failed: allowlist entry skipped")
            }
        }
    }
    Ok(None)
}

/// [`admitted_by`] on already-fetched data, in the same order. `project` is `None` when the project does
/// not exist; `groups` holds the members of the `@group` entries whose lookup succeeded (others are
/// skipped, as a failed lookup is).
pub fn admitted_by_fetched(
    account: &str,
    allowlist: &[String],
    project: Option<&ProjectAccess>,
    groups: &BTreeMap<String, Vec<String>>,
) -> Option<String> {
    if account.is_empty() {
        return None;
    }
    plain_match(account, allowlist)
        .or_else(|| project.and_then(|project| project_match(account, allowlist, project)))
        .or_else(|| {
            group_entries(allowlist)
                .find(|(_, group)| {
                    groups
                        .get(*group)
                        .is_some_and(|members| contains(members, account))
                })
                .map(|(entry, _)| entry.clone())
        })
}

fn plain_match(account: &str, allowlist: &[String]) -> Option<String> {
    allowlist
        .iter()
        .find(|entry| {
            entry.as_str() == account
                && !entry.starts_with('@')
                && *entry != ALL_ADMINS
                && *entry != ALL_COMMITTERS
        })
        .cloned()
}

fn project_match(account: &str, allowlist: &[String], project: &ProjectAccess) -> Option<String> {
    let listed = |keyword: &str| allowlist.iter().any(|entry| entry == keyword);
    if listed(ALL_ADMINS) && project.is_admin(account) {
        return Some(ALL_ADMINS.to_owned());
    }
    if listed(ALL_COMMITTERS) && project.is_committer(account) {
        return Some(ALL_COMMITTERS.to_owned());
    }
    None
}

/// `(entry, group name)` for each non-empty `@group` entry.
fn group_entries(allowlist: &[String]) -> impl Iterator<Item = (&String, &str)> {
    allowlist.iter().filter_map(|entry| {
        entry
            .strip_prefix('@')
            .filter(|group| !group.is_empty())
            .map(|group| (entry, group))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| (*name).to_owned()).collect()
    }

    /// distgit.md §3's example: disjoint lists, one group per level, a collaborator and a ticket group.
    fn project() -> ProjectAccess {
        ProjectAccess {
            owner: names(&["alice"]),
            admin_users: names(&["bob"]),
            commit_users: names(&["carol"]),
            admin_groups: names(&["admins-sig"]),
            commit_groups: names(&["python-packagers-sig"]),
            group_members: BTreeMap::from([
                ("admins-sig".to_owned(), names(&["gina"])),
                ("python-packagers-sig".to_owned(), names(&["erin", "frank"])),
                ("epel-collab-sig".to_owned(), names(&["dave"])),
                ("ticket-sig".to_owned(), names(&["tom"])),
            ]),
        }
    }

    #[test]
    fn all_admins_is_owner_admin_users_and_admin_group_members() {
        let project = project();
        for account in ["alice", "bob", "gina"] {
            assert!(project.is_admin(account), "{account}");
        }
        for account in ["carol", "erin", "frank", "dave", "tom", "nobody"] {
            assert!(!project.is_admin(account), "{account}");
        }
    }

    #[test]
    fn all_committers_adds_commit_users_and_commit_group_members_only() {
        let project = project();
        for account in ["alice", "bob", "gina", "carol", "erin", "frank"] {
            assert!(project.is_committer(account), "{account}");
        }
        // Collaborator and ticket group members are expanded by Pagure but never count.
        for account in ["dave", "tom", "nobody"] {
            assert!(!project.is_committer(account), "{account}");
        }
    }

    #[test]
    fn plain_names_win_before_keywords() {
        let allowlist = names(&["all_committers", "bob"]);
        assert_eq!(
            admitted_by_fetched("bob", &allowlist, Some(&project()), &BTreeMap::new()).as_deref(),
            Some("bob")
        );
        // "all_admins" as an account name is a keyword, never a plain match.
        let keywords = names(&["all_admins"]);
        assert_eq!(
            admitted_by_fetched("all_admins", &keywords, None, &BTreeMap::new()),
            None
        );
    }

    #[test]
    fn keywords_then_groups() {
        let project = project();
        let groups = BTreeMap::from([("releng".to_owned(), names(&["dave"]))]);
        let allowlist = names(&["@releng", "all_committers", "all_admins"]);
        assert_eq!(
            admitted_by_fetched("bob", &allowlist, Some(&project), &groups).as_deref(),
            Some("all_admins")
        );
        assert_eq!(
            admitted_by_fetched("erin", &allowlist, Some(&project), &groups).as_deref(),
            Some("all_committers")
        );
        assert_eq!(
            admitted_by_fetched("dave", &allowlist, Some(&project), &groups).as_deref(),
            Some("@releng")
        );
        assert_eq!(
            admitted_by_fetched("tom", &allowlist, Some(&project), &groups),
            None
        );
        // Without the project (missing), keywords admit nobody.
        assert_eq!(admitted_by_fetched("bob", &allowlist, None, &groups), None);
    }

    #[test]
    fn all_admins_alone_does_not_admit_committers() {
        let allowlist = names(&["all_admins"]);
        assert_eq!(
            admitted_by_fetched("carol", &allowlist, Some(&project()), &BTreeMap::new()),
            None
        );
    }

    #[test]
    fn empty_entries_and_accounts_admit_nobody() {
        let allowlist = names(&["", "@"]);
        let groups = BTreeMap::from([(String::new(), names(&[""]))]);
        assert_eq!(
            admitted_by_fetched("", &allowlist, Some(&project()), &groups),
            None
        );
        assert_eq!(
            admitted_by_fetched("x", &allowlist, Some(&project()), &groups),
            None
        );
    }
}
