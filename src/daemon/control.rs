//! The local control socket: while `fedflow run` holds the store, `fedflow status` asks it over a Unix
//! socket in the state directory (owner-only) instead of opening the store itself.

use crate::bus::replay;
use crate::config::Settings;
use crate::pipeline;
use crate::status::{LiveStatus, StatusReport};
use crate::store::Store;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Notify, watch};
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

/// What the requests act on: the daemon's store, live status and settings, and the engine's wake-up.
pub struct Control {
    pub store: Arc<Store>,
    pub live: Arc<LiveStatus>,
    pub settings: watch::Receiver<Arc<Settings>>,
    pub work_ready: Arc<Notify>,
}

/// Answers requests until the task is dropped. One request per connection, one line: `status`, `pipelines`,
/// `copr [owner/project]`, `retry <id>`, or `replay` followed by the lines to replay until the client
/// closes its side; one JSON reply (`{"error": ...}` on failure).
pub async fn serve(listener: UnixListener, control: Control) {
    let control = Arc::new(control);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                warn!(error = %e, "control socket accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let control = control.clone();
        tokio::spawn(async move {
            if let Err(e) = answer(stream, &control).await {
                debug!(error = %e, "control request failed");
            }
        });
    }
}

async fn answer(stream: UnixStream, control: &Control) -> std::io::Result<()> {
    let Control {
        store,
        live,
        work_ready,
        ..
    } = control;
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
        ("replay", "") => {
            // The lines that follow are as long as a message may be; `replay` reads them bounded.
            reader.get_mut().set_limit(u64::MAX);
            let settings = control.settings.borrow().clone();
            match replay::replay(&mut reader, store, &settings).await {
                Ok(report) => {
                    if report.work_queued > 0 {
                        work_ready.notify_one();
                    }
                    serde_json::to_value(&report).map_err(std::io::Error::other)?
                }
                Err(e) => error(format!("{e:#}")),
            }
        }
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

/// Sends `lines` (a file in fedora-messaging's serialized format) to a running daemon to replay. `Ok(None)`
/// means no daemon listens on `path`. The reply comes when the daemon has stored the last line, so there is
/// no deadline: the connection ends if the daemon does.
pub async fn replay(
    path: &Path,
    lines: &mut (impl tokio::io::AsyncRead + Unpin),
) -> anyhow::Result<Option<replay::ReplayReport>> {
    let Some(mut stream) = connect(path).await? else {
        return Ok(None);
    };
    stream.write_all(b"replay\n").await?;
    tokio::io::copy(lines, &mut stream).await?;
    stream.shutdown().await?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await?;
    Ok(Some(serde_json::from_value(answered(&reply)?)?))
}

/// Sends one request to a running daemon. `Ok(None)` means no daemon listens on `path`; an `error` reply
/// becomes an error.
pub async fn query(path: &Path, request: &str) -> anyhow::Result<Option<serde_json::Value>> {
    let Some(mut stream) = connect(path).await? else {
        return Ok(None);
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
    Ok(Some(answered(&reply)?))
}

/// The daemon's socket, or `None` when no daemon listens on it.
async fn connect(path: &Path) -> anyhow::Result<Option<UnixStream>> {
    match UnixStream::connect(path).await {
        Ok(stream) => Ok(Some(stream)),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!("connecting to {}", path.display()))),
    }
}

/// A reply as JSON; an `error` reply becomes an error.
fn answered(reply: &str) -> anyhow::Result<serde_json::Value> {
    let value: serde_json::Value = serde_json::from_str(reply)?;
    if let Some(error) = value.get("error").and_then(|e| e.as_str()) {
        anyhow::bail!("the daemon answered with an error: {error}");
    }
    Ok(value)
}
