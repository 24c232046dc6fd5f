//! The fake hub's own XML-RPC writer, shaped like Python's `xmlrpc.client` marshaller with koji's
//! extensions (`<nil/>`, `<i8>` for integers outside 32 bits, one element per line), so a codec bug in
//! the client cannot hide behind a symmetric one here. Requests are parsed with dxr.

use serde_json::Value as Json;

/// `methodName` and params (as JSON) of a request body.
pub fn parse_call(body: &str) -> Result<(String, Vec<Json>), String> {
    let call = dxr::MethodCall::from_xml(body).map_err(|error| error.to_string())?;
    Ok((
        call.name.into_owned(),
        call.params.iter().map(to_json).collect(),
    ))
}

fn to_json(value: &dxr::Value) -> Json {
    match value {
        dxr::Value::Integer(number) => Json::from(*number),
        dxr::Value::Long(number) => Json::from(*number),
        dxr::Value::Boolean(flag) => Json::Bool(*flag),
        dxr::Value::String(text) => Json::String(text.clone()),
        dxr::Value::Double(number) => Json::from(*number),
        dxr::Value::Struct(members) => Json::Object(
            members
                .iter()
                .map(|(name, member)| (name.clone(), to_json(member)))
                .collect(),
        ),
        dxr::Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        dxr::Value::Nil => Json::Null,
        // Koji's calls used here never send dates or binary data; keep them visible in the call log.
        other => Json::String(format!("{other:?}")),
    }
}

pub fn response(value: &Json) -> String {
    let mut out = String::from("<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n");
    write_value(&mut out, value);
    out.push_str("</param>\n</params>\n</methodResponse>\n");
    out
}

pub fn fault(code: i64, string: &str) -> String {
    let mut out = String::from("<?xml version='1.0'?>\n<methodResponse>\n<fault>\n");
    let body = serde_json::json!({"faultCode": code, "faultString": string});
    write_value(&mut out, &body);
    out.push_str("</fault>\n</methodResponse>\n");
    out
}

/// A params block, as the hub stores a task's request when `decode` is not asked for.
pub fn params(values: &[Json]) -> String {
    let mut out = String::from("<?xml version='1.0'?>\n<params>\n");
    for value in values {
        out.push_str("<param>\n");
        write_value(&mut out, value);
        out.push_str("</param>\n");
    }
    out.push_str("</params>\n");
    out
}

fn write_value(out: &mut String, value: &Json) {
    out.push_str("<value>");
    match value {
        Json::Null => out.push_str("<nil/>"),
        Json::Bool(flag) => out.push_str(if *flag {
            "<boolean>1</boolean>"
        } else {
            "<boolean>0</boolean>"
        }),
        Json::Number(number) => {
            if let Some(integer) = number.as_i64() {
                let tag = if i32::try_from(integer).is_ok() {
                    "int"
                } else {
                    "i8"
                };
                out.push_str(&format!("<{tag}>{integer}</{tag}>"));
            } else {
                let float = number.as_f64().unwrap_or(f64::NAN);
                out.push_str(&format!("<double>{float:?}</double>"));
            }
        }
        Json::String(text) => {
            out.push_str("<string>");
            out.push_str(&escape(text));
            out.push_str("</string>");
        }
        Json::Array(items) => {
            out.push_str("<array><data>\n");
            for item in items {
                write_value(out, item);
            }
            out.push_str("</data></array>");
        }
        Json::Object(members) => {
            out.push_str("<struct>\n");
            for (name, member) in members {
                out.push_str("<member>\n<name>");
                out.push_str(&escape(name));
                out.push_str("</name>\n");
                write_value(out, member);
                out.push_str("</member>\n");
            }
            out.push_str("</struct>");
        }
    }
    out.push_str("</value>\n");
}

/// Python's `xmlrpc.client.escape`: only `&`, `<` and `>`.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
