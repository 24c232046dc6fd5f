//! The serialized fixtures of `tests/fixtures/schemas/publish-all.jsonl` (the format of
//! `fedora-messaging publish`/`record`) and Python-`json.dumps`-compatible body encoding.

use std::fs;
use std::io;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};

/// The prefix of every routing key in `publish-all.jsonl`.
pub const PROD_TOPIC_PREFIX: &str = "org.fedoraproject.prod";

/// One line of `publish-all.jsonl` (the serialized format of `fedora-messaging publish`).
#[derive(Debug, Clone)]
pub struct FixtureMessage {
    /// The full prod routing key, e.g. `org.fedoraproject.prod.buildsys.tag`.
    pub routing_key: String,
    /// The routing key without `org.fedoraproject.prod.`, e.g. `buildsys.tag`.
    pub topic: String,
    pub id: String,
    pub headers: Map<String, Value>,
    pub body: Value,
    pub priority: Option<u8>,
}

impl FixtureMessage {
    pub fn routing_key_with_prefix(&self, prefix: &str) -> String {
        format!("{prefix}.{}", self.topic)
    }
}

#[derive(Deserialize)]
struct SerializedMessage {
    topic: String,
    id: String,
    #[serde(default)]
    headers: Map<String, Value>,
    body: Value,
    priority: Option<u8>,
}

/// All 26 fixtures of `tests/fixtures/schemas/publish-all.jsonl`, in file order.
pub fn fixture_messages() -> Vec<FixtureMessage> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schemas/publish-all.jsonl");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path:?}: {e}"));
    let topic_prefix = format!("{PROD_TOPIC_PREFIX}.");
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .enumerate()
        .map(|(index, line)| {
            let message: SerializedMessage = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{path:?} line {}: {e}", index + 1));
            let topic = message
                .topic
                .strip_prefix(&topic_prefix)
                .unwrap_or_else(|| panic!("{} lacks the prod prefix", message.topic))
                .to_owned();
            FixtureMessage {
                routing_key: message.topic,
                topic,
                id: message.id,
                headers: message.headers,
                body: message.body,
                priority: message.priority,
            }
        })
        .collect()
}

/// `json.dumps(value)` of Python, as fedora-messaging sends bodies: `", "` and `": "`
/// separators and every non-ASCII character escaped as `\uXXXX` (UTF-16 units).
pub fn python_json_dumps(value: &Value) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, PythonJsonFormatter);
    serde::Serialize::serialize(value, &mut serializer).expect("serialize a JSON value");
    bytes
}

struct PythonJsonFormatter;

impl serde_json::ser::Formatter for PythonJsonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        out: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { out.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        out: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { out.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, out: &mut W) -> io::Result<()> {
        out.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        out: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        for character in fragment.chars() {
            if character.is_ascii() {
                out.write_all(&[character as u8])?;
            } else {
                let mut units = [0u16; 2];
                for unit in character.encode_utf16(&mut units) {
                    write!(out, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}
