//! Fuzzes the Koji client's response decoding: the body (lossy UTF-8; the transport refuses a body that
//! is not UTF-8 before decoding) as a value or a fault, then a value read as each typed reply the client
//! decodes (`getBuild`, `listBuilds`, `getTaskInfo`, `listTasks`, `getBuildTarget`, `listTags`,
//! `getRPMHeaders`). Invariants: no panic; an undecodable body's error quotes a bounded excerpt, never the
//! whole body; a `listTasks` row's request is the decoded array or nothing.
#![no_main]

use fedflow::koji::FaultCode;
use fedflow::koji::fuzzing::{Reply, decode_response, read_value};
use libfuzzer_sys::fuzz_target;

/// The error quotes at most 120 characters, each at most 10 bytes once escaped, plus fixed text.
const MAX_ERROR_BYTES: usize = 120 * 10 + 100;

fuzz_target!(|data: &[u8]| {
    let body = String::from_utf8_lossy(data);
    match decode_response(&body) {
        Ok(Reply::Value(value)) => {
            let readings = read_value(&value);
            if let Ok(Some(task)) = &readings.task {
                let sent = value.get("request");
                assert!(task.request.is_empty() || sent.is_some_and(|r| r.is_array()));
            }
            if let (Ok(tasks), Ok(builds)) = (&readings.tasks, &readings.builds) {
                assert_eq!(tasks.len(), builds.len(), "both read the same array");
            }
            let _ = format!("{readings:?}");
        }
        Ok(Reply::Fault { code, string }) => {
            let _ = FaultCode::from_code(code);
            assert!(string.len() <= body.len());
        }
        Err(error) => assert!(
            error.len() <= MAX_ERROR_BYTES,
            "{} bytes of error",
            error.len()
        ),
    }
});
