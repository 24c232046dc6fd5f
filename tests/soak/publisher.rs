//! Publishing as fast as the broker takes it: one thread with its own runtime keeps a window of unconfirmed
//! publishes on a confirm-mode channel (fedora-messaging's format: persistent, JSON, message id, severity
//! and `sent-at` headers). When the broker goes away (a stop_app) it reconnects and sends everything not
//! yet confirmed again, under the same ids, as a real publisher would: those copies are duplicates fedflow
//! must recognise. Producers hand messages over through [`PublishHandle`] from plain threads.

use crate::support::amqp::amqp_headers_from_json;
use crate::support::daemon::runtime;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::ShortString;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use lapin::{Confirmation, PublisherConfirm};
use serde_json::{Map, json};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;
use tokio::time::timeout;

/// Publishes in flight before the oldest confirm is awaited.
const WINDOW: usize = 500;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(15);
const RECONNECT_PAUSE: Duration = Duration::from_millis(250);

/// One message to publish.
pub struct Outgoing {
    pub routing_key: String,
    pub id: String,
    pub body: Vec<u8>,
    /// Remember when it was first sent (pushes, for the push → build call latency).
    pub tracked: bool,
}

#[derive(Default)]
pub struct Stats {
    /// Handed over and not confirmed yet.
    in_flight: AtomicU64,
    pub confirmed: AtomicU64,
    /// Sent again after a connection loss (possibly duplicates in the queue).
    pub resent: AtomicU64,
    pub reconnects: AtomicU64,
    sent_at: Mutex<HashMap<String, SystemTime>>,
}

impl Stats {
    /// When the tracked message `id` was first sent.
    pub fn sent_at(&self, id: &str) -> Option<SystemTime> {
        self.sent_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .copied()
    }

    /// Everything handed over is confirmed.
    pub fn idle(&self) -> bool {
        self.in_flight.load(Ordering::SeqCst) == 0
    }
}

/// Hands messages to the publisher thread; blocks while its queue is full.
#[derive(Clone)]
pub struct PublishHandle {
    sender: mpsc::Sender<Outgoing>,
    stats: Arc<Stats>,
    prefix: String,
}

impl PublishHandle {
    pub fn send(&self, topic: &str, id: String, body: Vec<u8>, tracked: bool) {
        self.stats.in_flight.fetch_add(1, Ordering::SeqCst);
        let outgoing = Outgoing {
            routing_key: format!("{}.{topic}", self.prefix),
            id,
            body,
            tracked,
        };
        if self.sender.blocking_send(outgoing).is_err() {
            panic!("the publisher thread stopped early");
        }
    }
}

pub struct Publisher {
    handle: Option<PublishHandle>,
    pub stats: Arc<Stats>,
    thread: Option<JoinHandle<()>>,
}

impl Publisher {
    pub fn start(url: &str, prefix: &str) -> Publisher {
        let (sender, receiver) = mpsc::channel(4 * WINDOW);
        let stats = Arc::new(Stats::default());
        let (url, thread_stats) = (url.to_owned(), stats.clone());
        let thread = std::thread::Builder::new()
            .name("soak-publisher".to_owned())
            .spawn(move || runtime().block_on(run(url, receiver, thread_stats)))
            .expect("spawn the publisher thread");
        Publisher {
            handle: Some(PublishHandle {
                sender,
                stats: stats.clone(),
                prefix: prefix.to_owned(),
            }),
            stats,
            thread: Some(thread),
        }
    }

    pub fn handle(&self) -> PublishHandle {
        self.handle.clone().expect("the publisher is running")
    }

    /// Waits until everything handed over is confirmed (every handle must be dropped by now).
    pub fn finish(mut self) {
        self.handle = None;
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the publisher thread");
        }
    }
}

async fn connect(url: &str) -> Option<(Connection, Channel)> {
    let attempt = async {
        let connection = Connection::connect(url, ConnectionProperties::default()).await?;
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        lapin::Result::Ok((connection, channel))
    };
    timeout(CONNECT_TIMEOUT, attempt).await.ok()?.ok()
}

async fn publish(channel: &Channel, message: &Outgoing) -> Option<PublisherConfirm> {
    let mut headers = Map::new();
    headers.insert("fedora_messaging_severity".into(), json!(20));
    headers.insert("sent-at".into(), json!(sent_at_now()));
    let properties = BasicProperties::default()
        .with_content_type("application/json".into())
        .with_content_encoding("utf-8".into())
        .with_delivery_mode(2)
        .with_message_id(message.id.as_str().into())
        .with_headers(amqp_headers_from_json(&headers));
    let routing_key = ShortString::try_new(message.routing_key.as_str()).ok()?;
    let publishing = channel.basic_publish(
        "amq.topic".into(),
        routing_key,
        BasicPublishOptions::default(),
        &message.body,
        properties,
    );
    timeout(CONFIRM_TIMEOUT, publishing).await.ok()?.ok()
}

fn sent_at_now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

async fn run(url: String, mut receiver: mpsc::Receiver<Outgoing>, stats: Arc<Stats>) {
    let mut queue: VecDeque<Outgoing> = VecDeque::new();
    let mut pending: VecDeque<(Outgoing, PublisherConfirm)> = VecDeque::new();
    let mut link: Option<(Connection, Channel)> = None;
    let mut connected_before = false;
    let mut closed = false;
    loop {
        if closed && queue.is_empty() && pending.is_empty() {
            break;
        }
        let Some((_, channel)) = &link else {
            link = connect(&url).await;
            match (&link, connected_before) {
                (None, _) => tokio::time::sleep(RECONNECT_PAUSE).await,
                (Some(_), true) => {
                    stats.reconnects.fetch_add(1, Ordering::Relaxed);
                }
                (Some(_), false) => connected_before = true,
            }
            continue;
        };
        let mut failed = None;
        let mut broken = false;
        while pending.len() < WINDOW {
            let next = match queue.pop_front() {
                Some(message) => message,
                None => match receiver.try_recv() {
                    Ok(message) => message,
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => {
                        closed = true;
                        break;
                    }
                },
            };
            if next.tracked {
                let mut sent_at = stats.sent_at.lock().unwrap_or_else(PoisonError::into_inner);
                sent_at
                    .entry(next.id.clone())
                    .or_insert_with(SystemTime::now);
            }
            match publish(channel, &next).await {
                Some(confirm) => pending.push_back((next, confirm)),
                None => {
                    failed = Some(next);
                    broken = true;
                    break;
                }
            }
        }
        if !broken {
            match pending.pop_front() {
                Some((message, confirm)) => match timeout(CONFIRM_TIMEOUT, confirm).await {
                    Ok(Ok(Confirmation::Ack(_))) => {
                        stats.confirmed.fetch_add(1, Ordering::Relaxed);
                        stats.in_flight.fetch_sub(1, Ordering::SeqCst);
                    }
                    _ => {
                        failed = Some(message);
                        broken = true;
                    }
                },
                None if queue.is_empty() && !closed => match receiver.recv().await {
                    Some(message) => queue.push_back(message),
                    None => closed = true,
                },
                None => {}
            }
        }
        if broken {
            // Everything unconfirmed goes again, in its order, on a new connection.
            let mut again: VecDeque<Outgoing> = failed
                .into_iter()
                .chain(pending.drain(..).map(|(message, _)| message))
                .collect();
            stats
                .resent
                .fetch_add(again.len() as u64, Ordering::Relaxed);
            again.extend(queue.drain(..));
            queue = again;
            link = None;
        }
    }
    if let Some((connection, _)) = link {
        let _ = connection.close(200, "done".into()).await;
    }
}
