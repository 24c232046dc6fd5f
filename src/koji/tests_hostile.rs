//! Hostile hub responses: nesting deep enough to exhaust a tokio worker's stack if it were recursed into,
//! and huge undecodable bodies. Each must be refused with a short error, not a crash.

use super::wire::{self, Reply};

/// tokio's default worker stack, where the client decodes responses.
const WORKER_STACK_BYTES: usize = 2 * 1024 * 1024;

fn response(inner: &str) -> String {
    format!(
        "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n{inner}\n</param>\n</params>\n</methodResponse>\n"
    )
}

/// Decodes `body` on a thread with a worker's stack; a stack overflow aborts the test process.
fn decode_on_worker_stack(body: String) -> Result<Reply, String> {
    std::thread::Builder::new()
        .stack_size(WORKER_STACK_BYTES)
        .spawn(move || wire::decode_response(&body))
        .expect("spawn decoder thread")
        .join()
        .expect("decoder thread panicked")
}

fn nested(open: &str, leaf: &str, close: &str, depth: usize) -> String {
    response(&format!(
        "{}{leaf}{}",
        open.repeat(depth),
        close.repeat(depth)
    ))
}

#[test]
fn deeply_nested_values_are_refused_without_exhausting_the_stack() {
    let leaf = "<value><int>1</int></value>";
    let arrays = ("<value><array><data>", "</data></array></value>");
    let structs = (
        "<value><struct><member><name>a</name>",
        "</member></struct></value>",
    );
    for (open, close) in [arrays, structs] {
        // Ten levels is more than any hub answer has (a task's decoded request is three).
        assert!(matches!(
            decode_on_worker_stack(nested(open, leaf, close, 10)),
            Ok(Reply::Value(_))
        ));
        for depth in [1_000, 100_000] {
            let error = decode_on_worker_stack(nested(open, leaf, close, depth))
                .expect_err("nesting this deep is refused");
            assert!(
                error.starts_with("not an XML-RPC methodResponse"),
                "{error}"
            );
            assert!(error.len() < 400, "the body is not repeated: {error}");
        }
    }
}

#[test]
fn a_huge_undecodable_body_is_quoted_by_its_beginning_only() {
    let body = format!("<html>{}</html>", "\u{10ffff}".repeat(1024 * 1024));
    let error = wire::decode_response(&body).expect_err("HTML is not XML-RPC");
    assert!(error.contains(&format!("({} bytes", body.len())), "{error}");
    assert!(error.len() < 2_000, "{} bytes of error", error.len());
}
