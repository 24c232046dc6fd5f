//! Process plumbing for the broker harness: spawning children that die with the test binary
//! (`PR_SET_PDEATHSIG` from one long-lived thread), signalling, watching process groups (the
//! node's `beam.smp` is not our child but stays in its launcher's group), and polling.

use std::fs;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How often the harness re-checks a process or port while waiting for it.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);

type SpawnReply = mpsc::Sender<io::Result<Child>>;

/// Spawns `command` in its own process group with `PR_SET_PDEATHSIG = SIGTERM`.
///
/// The kernel sends the death signal when the *thread* that forked the child exits, not the
/// process. Test threads come and go, so every spawn goes through one thread that lives as long
/// as the test binary: the signal then fires exactly when the binary exits or crashes.
pub fn spawn_dying_with_test_binary(mut command: Command) -> io::Result<Child> {
    let test_binary_pid = std::process::id();
    command.process_group(0);
    // SAFETY: the closure runs between fork and exec and only calls async-signal-safe functions
    // (prctl, getppid) and builds errors from raw OS codes, so it never allocates.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(io::Error::last_os_error());
            }
            // If the test binary died between fork and prctl, no signal will ever come.
            if libc::getppid() as u32 != test_binary_pid {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }

    let (reply_sender, reply_receiver) = mpsc::channel();
    spawner()
        .send((command, reply_sender))
        .expect("the spawner thread never exits");
    reply_receiver
        .recv()
        .expect("the spawner thread always replies")
}

fn spawner() -> &'static mpsc::Sender<(Command, SpawnReply)> {
    static SPAWNER: OnceLock<mpsc::Sender<(Command, SpawnReply)>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (request_sender, request_receiver) = mpsc::channel::<(Command, SpawnReply)>();
        thread::Builder::new()
            .name("it-process-spawner".into())
            .spawn(move || {
                // The sender lives in a static, so this loop only ends with the process.
                for (mut command, reply) in request_receiver {
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("start the process spawner thread");
        request_sender
    })
}

pub fn send_signal(pid: u32, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(pid).expect("pids fit in pid_t");
    // SAFETY: plain syscall; a vanished process only yields ESRCH, which is fine here.
    unsafe {
        libc::kill(pid, signal);
    }
}

pub fn signal_process_group(group_leader_pid: u32, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(group_leader_pid).expect("pids fit in pid_t");
    // SAFETY: as above; a negative pid addresses the whole process group.
    unsafe {
        libc::kill(-pid, signal);
    }
}

/// State letter and process group of `pid` from `/proc/<pid>/stat`, `None` once it is reaped.
fn state_and_group(pid: &str) -> Option<(char, u32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name (which may hold spaces): state ppid pgrp …
    let mut fields = stat.rsplit_once(") ")?.1.split(' ');
    let state = fields.next()?.chars().next()?;
    let group = fields.nth(1)?.parse().ok()?;
    Some((state, group))
}

fn is_live(state: char) -> bool {
    // A zombie (or dead task) only waits for a parent to reap it; it runs no code.
    !matches!(state, 'Z' | 'X' | 'x')
}

/// True when `pid` runs (not a zombie) and belongs to process group `group`.
pub fn is_live_member(pid: u32, group: u32) -> bool {
    state_and_group(&pid.to_string()).is_some_and(|(state, pgrp)| is_live(state) && pgrp == group)
}

/// True while any non-zombie process is in process group `group`.
pub fn group_has_live_members(group: u32) -> bool {
    let Ok(entries) = fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            return false;
        };
        state_and_group(pid).is_some_and(|(state, pgrp)| is_live(state) && pgrp == group)
    })
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
pub fn poll_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(POLL_INTERVAL);
    }
}
