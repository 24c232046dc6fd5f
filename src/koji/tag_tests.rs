//! Decoding of the tag and changelog reads on literal hub bodies: `listTags` rows, and the parallel
//! changelog headers of `getRPMHeaders` as lists, as bare scalars (single-entry changelogs from older
//! rpm bindings), absent, and malformed.

use serde_json::json;

use super::types::{self, ChangelogEntry, TagInfo};
use super::wire::{self, Reply};

fn value(body: &str) -> serde_json::Value {
    match wire::decode_response(body) {
        Ok(Reply::Value(value)) => value,
        other => panic!("expected a value, got {other:?}"),
    }
}

#[test]
fn list_tags_rows_decode() {
    let body = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><array><data>
<value><struct>
<member>\n<name>arches</name>\n<value><nil/></value>\n</member>
<member>\n<name>id</name>\n<value><int>65870</int></value>\n</member>
<member>\n<name>locked</name>\n<value><boolean>0</boolean></value>\n</member>
<member>\n<name>maven_include_all</name>\n<value><boolean>0</boolean></value>\n</member>
<member>\n<name>maven_support</name>\n<value><boolean>0</boolean></value>\n</member>
<member>\n<name>name</name>\n<value><string>f43-updates-candidate</string></value>\n</member>
<member>\n<name>perm</name>\n<value><string>autosign</string></value>\n</member>
<member>\n<name>perm_id</name>\n<value><int>10</int></value>\n</member>
</struct></value>
</data></array></value>\n</param>\n</params>\n</methodResponse>\n";
    let tags = types::list(value(body), TagInfo::from_wire).expect("tags");
    assert_eq!(
        tags,
        vec![TagInfo {
            id: 65870,
            name: "f43-updates-candidate".into()
        }]
    );
}

#[test]
fn changelog_headers_as_parallel_lists_decode_newest_first() {
    let body = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><struct>
<member>\n<name>changelogname</name>\n<value><array><data>
<value><string>Jane Doe &lt;jane@example.org&gt; - 1.2-1</string></value>
<value><string>John Roe &lt;john@example.org&gt; - 1.1-1</string></value>
</data></array></value>\n</member>
<member>\n<name>changelogtext</name>\n<value><array><data>
<value><string>- Update to 1.2\n- Fixes rhbz#2345678</string></value>
<value><string>- Update to 1.1</string></value>
</data></array></value>\n</member>
<member>\n<name>changelogtime</name>\n<value><array><data>
<value><int>1709640000</int></value>
<value><i8>4102488000</i8></value>
</data></array></value>\n</member>
</struct></value>\n</param>\n</params>\n</methodResponse>\n";
    let entries = types::changelog_from_headers(value(body)).expect("changelog");
    assert_eq!(
        entries,
        vec![
            ChangelogEntry {
                time: 1_709_640_000,
                author: "Jane Doe <jane@example.org> - 1.2-1".into(),
                text: "- Update to 1.2\n- Fixes rhbz#2345678".into(),
            },
            ChangelogEntry {
                time: 4_102_488_000,
                author: "John Roe <john@example.org> - 1.1-1".into(),
                text: "- Update to 1.1".into(),
            },
        ]
    );
}

#[test]
fn single_entry_changelog_as_scalars_decodes() {
    let headers = json!({
        "changelogtime": 1_709_640_000,
        "changelogname": "Jane Doe <jane@example.org> - 1.2-1",
        "changelogtext": "- Initial package",
    });
    let entries = types::changelog_from_headers(headers).expect("changelog");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].text, "- Initial package");
}

#[test]
fn missing_headers_and_unknown_rpm_are_no_changelog() {
    assert_eq!(types::changelog_from_headers(json!({})), Ok(Vec::new()));
    let nil = json!({"changelogtime": null, "changelogname": null, "changelogtext": null});
    assert_eq!(types::changelog_from_headers(nil), Ok(Vec::new()));
}

#[test]
fn uneven_headers_are_cut_to_the_shortest() {
    let headers = json!({
        "changelogtime": [3, 2, 1],
        "changelogname": ["c", "b"],
        "changelogtext": ["- c", "- b", "- a"],
    });
    let entries = types::changelog_from_headers(headers).expect("changelog");
    assert_eq!(entries.len(), 2);
}

#[test]
fn malformed_headers_are_errors_not_panics() {
    for headers in [
        json!([]),
        json!("changelog"),
        json!({"changelogtime": ["x"], "changelogname": ["a"], "changelogtext": ["t"]}),
        json!({"changelogtime": [1], "changelogname": [7], "changelogtext": ["t"]}),
        json!({"changelogtime": [1.5], "changelogname": ["a"], "changelogtext": [[104, 105]]}),
    ] {
        let result = types::changelog_from_headers(headers.clone());
        assert!(result.is_err(), "{headers} -> {result:?}");
    }
}
