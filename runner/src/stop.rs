//! Stopping a campaign or soak cleanly on SIGINT, SIGTERM or SIGHUP.
//!
//! Every run-qemu.sh the runner starts leads a process group of its own
//! (QEMU and `timeout` stay in it: run-qemu.sh runs them with
//! `timeout --foreground`), registered here by its process id. The signal
//! handler marks the run as stopped, so no further runs are handed out,
//! and sends SIGTERM to each registered group, then SIGKILL to any still
//! registered [`GRACE`] later: none of the runner's QEMUs outlive it, and
//! nothing else is touched.

use std::io;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::os::unix::process::CommandExt;

/// How long a stopped group gets to end after SIGTERM.
pub const GRACE: Duration = Duration::from_secs(5);

static STOPPED: AtomicBool = AtomicBool::new(false);
/// The running run-qemu.sh process ids (each its group's id).
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());
/// Groups whose leader ended after a stop: [`settle`] makes sure nothing
/// of them is left either.
static ENDED: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Installs the handler for SIGINT, SIGTERM and SIGHUP.
pub fn install() -> Result<(), String> {
    ctrlc::set_handler(request).map_err(|e| format!("cannot handle SIGINT/SIGTERM: {e}"))
}

/// Whether a stop was asked for.
pub fn requested() -> bool {
    STOPPED.load(Ordering::SeqCst)
}

/// Stops: no more runs, and the running groups are ended.
pub fn request() {
    let pids = {
        let children = CHILDREN.lock().unwrap_or_else(|e| e.into_inner());
        STOPPED.store(true, Ordering::SeqCst);
        children.clone()
    };
    signal(&pids, Signal::SIGTERM);
    std::thread::spawn(|| {
        std::thread::sleep(GRACE);
        let left = CHILDREN.lock().unwrap_or_else(|e| e.into_inner()).clone();
        signal(&left, Signal::SIGKILL);
    });
}

/// Ends the group `pid` leads (a stalled boot): SIGTERM, and SIGKILL
/// [`GRACE`] later if it is still registered.
pub fn end_group(pid: u32) {
    signal(&[pid], Signal::SIGTERM);
    std::thread::spawn(move || {
        std::thread::sleep(GRACE);
        let still = CHILDREN
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&pid);
        if still {
            signal(&[pid], Signal::SIGKILL);
        }
    });
}

fn signal(pids: &[u32], sig: Signal) {
    for &pid in pids {
        // A group that has already gone is no error.
        let _ = killpg(Pid::from_raw(pid as i32), sig);
    }
}

/// Spawns `cmd` as the leader of a new process group and registers it; a
/// stop asked for meanwhile ends it at once.
pub fn spawn(cmd: &mut Command) -> io::Result<Child> {
    cmd.process_group(0);
    let mut children = CHILDREN.lock().unwrap_or_else(|e| e.into_inner());
    let child = cmd.spawn()?;
    children.push(child.id());
    if requested() {
        signal(&[child.id()], Signal::SIGTERM);
    }
    Ok(child)
}

/// The child `pid` was waited for: no longer ours to end.
pub fn forget(pid: u32) {
    CHILDREN
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|&p| p != pid);
    if requested() {
        ENDED.lock().unwrap_or_else(|e| e.into_inner()).push(pid);
    }
}

/// After a stop: waits, at most [`GRACE`] and a second, until no process
/// of any group the runner started is left, sending SIGKILL to what is
/// left at [`GRACE`]. Returns whether none is left.
pub fn settle() -> bool {
    let groups = || {
        let mut g = CHILDREN.lock().unwrap_or_else(|e| e.into_inner()).clone();
        g.extend(ENDED.lock().unwrap_or_else(|e| e.into_inner()).iter());
        g
    };
    let alive = |g: &u32| killpg(Pid::from_raw(*g as i32), None).is_ok();
    let start = std::time::Instant::now();
    let mut killed = false;
    loop {
        let left: Vec<u32> = groups().into_iter().filter(alive).collect();
        if left.is_empty() {
            return true;
        }
        if !killed && start.elapsed() >= GRACE {
            signal(&left, Signal::SIGKILL);
            killed = true;
        }
        if start.elapsed() >= GRACE + Duration::from_secs(1) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
