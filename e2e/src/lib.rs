//! Boots the real kernel under real QEMU through `run-qemu.sh` and hands the
//! tests what a user would see: exit status, console text, the verdict.
//!
//! The kernel is built once per test binary, into its own target directory so
//! that the nested cargo never waits on the lock of the outer `cargo test`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The release kernel ELF, built on first use.
pub fn kernel() -> &'static Path {
    static KERNEL: OnceLock<PathBuf> = OnceLock::new();
    KERNEL.get_or_init(|| {
        ccwgate_runner::build_kernel(workspace(), &workspace().join("target/e2e"))
            .unwrap_or_else(|e| panic!("{e}"))
    })
}

/// What one `run-qemu.sh` invocation produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The verdict lines on the console (a correct run has exactly one).
    pub fn verdict_lines(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .map(|l| l.trim_end_matches('\r'))
            .filter(|l| l.starts_with("VERDICT: "))
            .collect()
    }

    /// The single verdict line, parsed; panics with the whole output otherwise.
    pub fn verdict(&self) -> gate::verdict::Parsed<'_> {
        let lines = self.verdict_lines();
        assert_eq!(lines.len(), 1, "expected one VERDICT line in:\n{self}");
        gate::verdict::parse(lines[0]).unwrap_or_else(|| panic!("unparsable verdict in:\n{self}"))
    }

    /// Value of `key` in the verdict line.
    pub fn field(&self, key: &str) -> Option<String> {
        self.verdict().get(key).map(str::to_owned)
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `run-qemu.sh --kernel <built kernel> ARGS`.
pub fn run_qemu(args: &[&str]) -> Run {
    run_script(&["--kernel", kernel().to_str().unwrap()], args)
}

/// Runs `run-qemu.sh` with exactly `pre` then `args` (no kernel implied).
pub fn run_script(pre: &[&str], args: &[&str]) -> Run {
    let out = Command::new(workspace().join("run-qemu.sh"))
        .args(pre)
        .args(args)
        .output()
        .expect("run-qemu.sh starts");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the kernel with QEMU stopped at the first instruction and a batch
/// gdb attached that executes `gdb_commands` (after connecting and loading
/// the kernel's symbols), as a test's way of making the guest misbehave.
pub fn run_with_gdb(args: &[&str], gdb_commands: &[&str]) -> Run {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        listener.local_addr().unwrap().port()
    };
    let gdbstub = format!("tcp:127.0.0.1:{port}");
    let mut qemu_args: Vec<&str> = args.to_vec();
    qemu_args.extend(["--", "-S", "-gdb", &gdbstub]);
    let qemu = std::thread::scope(|s| {
        let qemu = s.spawn(|| run_qemu(&qemu_args));
        // QEMU may not listen yet: retry the connection for a while.
        let connect = format!(
            "python exec(\"import time\\nfor _ in range(200):\\n try:\\n  gdb.execute('target remote 127.0.0.1:{port}')\\n  break\\n except gdb.error:\\n  time.sleep(0.05)\")"
        );
        let mut gdb = Command::new("gdb-multiarch");
        gdb.args(["-q", "-batch", "-nx"])
            .arg(kernel())
            .args(["-ex", &connect]);
        let out = gdb
            .args(gdb_commands.iter().flat_map(|c| ["-ex", c]))
            .output()
            .expect("gdb-multiarch runs (apt-get install gdb-multiarch)");
        let mut run = qemu.join().unwrap();
        run.stderr.push_str(&String::from_utf8_lossy(&out.stdout));
        run.stderr.push_str(&String::from_utf8_lossy(&out.stderr));
        run
    });
    qemu
}
