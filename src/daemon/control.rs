//! The local control socket: while `fedflow run` holds the store, `fedflow status` asks it over a Unix
//! socket in the state directory (owner-only) instead of opening the store itself.

use crate::pipeline;
use crate::status::{LiveStatus, StatusReport};
use crate::store::Store;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Notify;
use tracing::{debug, warn};

pub const SOCKET_NAME: &str = "control.sock";
const REQUEST_LIMIT: u64 = 256;
/// `fedflow copr` shows the newest builds; older ones stay in the store until purged.
const COPR_BUILDS_LIMIT: usize = 1000;
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

pub fn socket_path(state_dir: &Path) -> PathBuf {
    state_dir.join(SOCKET_NAME)
}

/// Binds the socket. Any file left at the path is stale: whoever created it no longer holds the store lock.
pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Answers requests until the task is dropped. One request per connection, one line: `status`, `pipelines`,
/// `copr [owner/project]` or `retry <id>`; one JSON reply (`{"error": ...}` on failure).
pub async fn serve(
    listener: UnixListener,
    store: Arc<Store>,
    live: Arc<LiveStatus>,
    work_ready: Arc<Notify>,
) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                warn!(error = %e, "control socket accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let store = store.clone();
        let live = live.clone();
        let work_ready = work_ready.clone();
        tokio::spawn(async move {
            if let Err(e) = answer(stream, &store, &live, &work_ready).await {
                debug!(error = %e, "control request failed");
            }
        });
    }
}

async fn answer(
    stream: UnixStream,
    store: &Store,
    live: &LiveStatus,
    work_ready: &Notify,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut request = String::new();
    let mut reader = BufReader::new(read.take(REQUEST_LIMIT));
    tokio::time::timeout(CLIENT_TIMEOUT, reader.read_line(&mut request))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "request timed out"))??;
    let error = |e: String| serde_json::json!({ "error": e });
    let reply = match request
        .trim()
        .split_once(' ')
        .unwrap_or((request.trim(), ""))
    {
        ("status", "") => match StatusReport::live(store, live) {
            Ok(report) => serde_json::to_value(&report).map_err(std::io::Error::other)?,
            Err(e) => error(e.to_string()),
        },
        ("pipelines", "") => match store.pipelines(pipeline::view::LISTED) {
            Ok(list) => serde_json::to_value(&list).map_err(std::io::Error::other)?,
            Err(e) => error(e.to_string()),
        },
        ("copr", project) => {
            let project = Some(project).filter(|p| !p.is_empty());
            match store.copr_builds(project, COPR_BUILDS_LIMIT) {
                Ok(list) => serde_json::to_value(&list).map_err(std::io::Error::other)?,
                Err(e) => error(e.to_string()),
            }
        }
        ("retry", id) => match id.parse::<u64>() {
            Ok(id) => match pipeline::requeue(store, id, "fedflow retry") {
                Ok(pipeline) => {
                    work_ready.notify_one();
                    serde_json::to_value(&pipeline).map_err(std::io::Error::other)?
                }
                Err(e) => error(format!("{e:#}")),
            },
            Err(_) => error(format!("not a pipeline id: {id:?}")),
        },
        (other, _) => error(format!("unknown request {other:?}")),
    };
    let reply = reply.to_string();
    write.write_all(reply.as_bytes()).await?;
    write.write_all(b"\n").await?;
    write.shutdown().await
}

/// Asks a running daemon for its status. `Ok(None)` means no daemon listens on `path`.
pub async fn query_status(path: &Path) -> anyhow::Result<Option<StatusReport>> {
    match query(path, "status").await? {
        Some(value) => Ok(Some(serde_json::from_value(value)?)),
        None => Ok(None),
    }
}

/// Sends one request to a running daemon. `Ok(None)` means no daemon listens on `path`; an `error` reply
/// becomes an error.
pub async fn query(path: &Path, request: &str) -> anyhow::Result<Option<serde_json::Value>> {
    let mut stream = match UnixStream::connect(path).await {
        Ok(stream) => stream,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None);
        }
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!("connecting to {}", path.display())));
        }
    };
    stream.write_all(format!("{request}\n").as_bytes()).await?;
    let mut reply = String::new();
    tokio::time::timeout(CLIENT_TIMEOUT, stream.read_to_string(&mut reply))
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "the daemon did not answer on {} within {CLIENT_TIMEOUT:?}",
                path.display()
            )
        })??;
    let value: serde_json::Value = serde_json::from_str(&reply)?;
    if let Some(error) = value.get("error").and_then(|e| e.as_str()) {
        anyhow::bail!("the daemon answered with an error: {error}");
    }
    Ok(Some(value))
}
