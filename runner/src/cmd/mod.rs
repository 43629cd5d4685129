//! The commands of `ccwgate`, each with its clap arguments: [`runs`]
//! (campaign, soak and merge), [`bench`], and here the small ones that read
//! result files or names (compare, known, list) and what all of them share.

pub mod bench;
pub mod runs;

use std::path::{Path, PathBuf};

use ccwgate_runner::exit::Exit;
use ccwgate_runner::known::{self, KnownBugs};
use ccwgate_runner::{compare as compare_results, names, Results, NAME_KINDS};
use clap::Args;

/// The workspace: run-qemu.sh, the kernel's sources, known-bugs.toml.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("runner/ lives in the workspace")
        .to_path_buf()
}

/// A usage or setup problem: said on stderr, [`Exit::Error`].
pub fn fatal(msg: &str) -> Exit {
    eprintln!("ccwgate: {msg}");
    Exit::Error
}

/// `--known[=FILE]`.
#[derive(Args)]
pub struct KnownOpt {
    /// Hold FAILs whose signature is a known open bug apart (default file:
    /// the workspace's known-bugs.toml): JUnit skipped, TAP TODO, JSON
    /// "known", counted as known, exit 0.
    #[arg(long, value_name = "FILE", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    known: Option<String>,
}

impl KnownOpt {
    pub fn load(&self) -> Result<Option<KnownBugs>, String> {
        self.known
            .as_deref()
            .map(|f| KnownBugs::load(&known::path(Some(f), &workspace())))
            .transpose()
    }
}

#[derive(Args)]
pub struct List {
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(NAME_KINDS))]
    kind: String,
}

#[derive(Args)]
pub struct KnownArgs {
    /// The known-bugs file (default: the workspace's known-bugs.toml).
    #[arg(long)]
    file: Option<PathBuf>,
    /// Read a run's console (FILE, or - for stdin) and print the id of
    /// the known bug its one FAIL verdict is; exit 0 if it is one, 1 if
    /// not, 2 if the file is bad.
    #[arg(long, value_name = "CONSOLE")]
    check: Option<PathBuf>,
}

#[derive(Args)]
pub struct CompareArgs {
    /// Result set A (e.g. the old host).
    a: PathBuf,
    /// Result set B (e.g. the patched host).
    b: PathBuf,
    /// Significance level.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    #[command(flatten)]
    known: KnownOpt,
}

/// `ccwgate list KIND`.
pub fn list(l: List) -> Exit {
    for name in names(&l.kind).unwrap_or_default() {
        println!("{name}");
    }
    Exit::Success
}

/// `ccwgate compare A B`.
pub fn compare(c: CompareArgs) -> Exit {
    let load = |p: &PathBuf| -> Result<Results, String> {
        let text =
            std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        Results::load(&text).map_err(|e| format!("{}: {e}", p.display()))
    };
    let (a, b) = match (load(&c.a), load(&c.b)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return fatal(&e),
    };
    let (cmp, line) = compare_results(&a, &b, c.alpha);
    for (name, set, p) in [("A", &a, cmp.a), ("B", &b, cmp.b)] {
        let (rate, lo, hi) = p.per_million();
        let n = set.counts();
        let known = if n.known > 0 {
            format!(" ({} of them known)", n.known)
        } else {
            String::new()
        };
        println!(
            "{name}: {} runs, {} FAIL{known} in {} iterations: {rate:.1} per million [{lo:.1}, {hi:.1}] (95 %)",
            n.runs,
            n.fail + n.known,
            n.iterations
        );
    }
    println!("p = {:.4}: {line}", cmp.p_value);
    let bugs = match c.known.load() {
        Ok(k) => k,
        Err(e) => return fatal(&e),
    };
    // Per signature: "better" is a known bug's rate falling and nothing
    // new appearing.
    let rates = known::per_signature(&a, &b, bugs.as_ref(), c.alpha);
    for s in &rates {
        println!("{}", s.line());
    }
    let new: Vec<&str> = rates
        .iter()
        .filter(|s| s.known.is_none() && s.a.k == 0 && s.b.k > 0)
        .map(|s| s.signature.as_str())
        .collect();
    if new.is_empty() {
        println!("new in B: none");
    } else {
        println!("new in B: {}", new.join(", "));
    }
    Exit::Success
}

/// `ccwgate known [--check CONSOLE]`.
pub fn known(k: KnownArgs) -> Exit {
    let path = k
        .file
        .clone()
        .unwrap_or_else(|| workspace().join(known::FILE));
    let bugs = match KnownBugs::load(&path) {
        Ok(b) => b,
        Err(e) => return fatal(&e),
    };
    let Some(console) = k.check else {
        for b in &bugs.bugs {
            println!("{}\n", b.describe());
        }
        return Exit::Success;
    };
    let text = if console.as_os_str() == "-" {
        let mut t = String::new();
        match std::io::Read::read_to_string(&mut std::io::stdin(), &mut t) {
            Ok(_) => t,
            Err(e) => return fatal(&format!("cannot read stdin: {e}")),
        }
    } else {
        match std::fs::read(&console) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => return fatal(&format!("cannot read {}: {e}", console.display())),
        }
    };
    match bugs.check_console(&text) {
        Some(b) => {
            println!("{}", b.id);
            Exit::Success
        }
        // A FAIL that is no known bug (or no single FAIL verdict).
        None => Exit::Fail,
    }
}
