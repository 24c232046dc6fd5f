//! XML-RPC as Koji speaks it, on top of dxr: method calls with positional arguments plus Koji's keyword
//! arguments (a trailing struct marked `"__starstar": true`), and responses that are a value or a
//! `<fault>`. Decoded values are handed on as `serde_json::Value` so the typed layer can use serde.

use dxr::{FaultResponse, MethodCall, MethodResponse, Value};
use serde_json::Value as Json;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Marker Koji's `encode_args` adds to the struct that carries keyword arguments.
pub(crate) const KWARGS_MARKER: &str = "__starstar";

/// Longest excerpt of an undecodable body quoted in an error message.
const EXCERPT_CHARS: usize = 120;

/// What a well-formed response carried. `pub` only for the fuzzing entry point ([`super::fuzzing`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Value(Json),
    Fault { code: i64, string: String },
}

/// The body of `method(*args, **kwargs)`. Keyword arguments are omitted entirely when empty, as Koji's
/// client does.
pub(crate) fn encode_call(
    method: &str,
    args: Vec<Value>,
    kwargs: Vec<(&str, Value)>,
) -> Result<String, String> {
    let mut params = args;
    if !kwargs.is_empty() {
        let mut members: BTreeMap<String, Value> = kwargs
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect();
        members.insert(KWARGS_MARKER.to_owned(), Value::Boolean(true));
        params.push(Value::Struct(members));
    }
    let call = MethodCall {
        name: Cow::Borrowed(method),
        params,
    };
    let xml = call
        .to_xml()
        .map_err(|error| format!("cannot encode {method}: {error}"))?;
    Ok(format!("<?xml version=\"1.0\"?>\n{xml}"))
}

/// Parses a response body: a value, or a fault. Anything else is an error that quotes only the
/// beginning of the body (a proxy's HTML page is recognisable from it; a huge body is not repeated).
/// `pub` only for the fuzzing entry point ([`super::fuzzing`]).
pub fn decode_response(body: &str) -> Result<Reply, String> {
    if let Ok(response) = MethodResponse::from_xml(body) {
        return Ok(Reply::Value(to_json(&response.value)));
    }
    if let Ok(fault) = FaultResponse::from_xml(body) {
        return Ok(Reply::Fault {
            code: i64::from(fault.fault.code()),
            string: fault.fault.string().to_owned(),
        });
    }
    Err(format!(
        "not an XML-RPC methodResponse ({} bytes, starting {:?})",
        body.len(),
        excerpt(body)
    ))
}

fn excerpt(body: &str) -> String {
    body.trim_start().chars().take(EXCERPT_CHARS).collect()
}

/// Converts a decoded XML-RPC value; `<nil/>` becomes `null`, a non-finite double becomes `null`,
/// dates become their ISO 8601 text and base64 its decoded bytes as a number array.
pub(crate) fn to_json(value: &Value) -> Json {
    match value {
        Value::Integer(number) => Json::from(*number),
        Value::Long(number) => Json::from(*number),
        Value::Boolean(flag) => Json::Bool(*flag),
        Value::String(text) => Json::String(text.clone()),
        Value::Double(number) => {
            serde_json::Number::from_f64(*number).map_or(Json::Null, Json::Number)
        }
        Value::DateTime(date) => Json::String(date.to_string()),
        Value::Base64(bytes) => Json::from(bytes.clone()),
        Value::Struct(members) => Json::Object(
            members
                .iter()
                .map(|(name, member)| (name.clone(), to_json(member)))
                .collect(),
        ),
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Nil => Json::Null,
        // `Value` is non-exhaustive; a future variant is not something Koji sends today.
        _ => Json::Null,
    }
}

/// An integer argument: `<int>` when it fits, `<i8>` otherwise (as koji's `xmlrpcplus` does).
pub(crate) fn int(number: i64) -> Value {
    i32::try_from(number).map_or(Value::Long(number), Value::Integer)
}

pub(crate) fn string(text: &str) -> Value {
    Value::String(text.to_owned())
}

pub(crate) fn structure(members: Vec<(&str, Value)>) -> Value {
    Value::Struct(
        members
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect(),
    )
}
