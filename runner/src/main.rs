//! `ccwgate`: campaigns, soak runs and A/B comparisons of the guest kernel
//! through run-qemu.sh, with JSON, JUnit and TAP reports; `ccwgate list
//! KIND` prints gate's names (scenarios, modes, classes, deviations,
//! options, ...), one per line.
//!
//! This file reads the command line and hands each command to its module
//! under `cmd/`: [`cmd::runs`] (campaign, soak, merge: one path),
//! [`cmd::bench`], and [`cmd`] itself (compare, known, list). The runs
//! themselves go through the library's thread pool
//! ([`ccwgate_runner::pool`]) and reporter ([`ccwgate_runner::reporter`]).
//! The exit status is one of [`Exit`] (0 passed, 1 a FAIL, 2 an ERROR or
//! a usage problem, 3 stopped by a signal).

mod cmd;

use std::process::ExitCode;

use ccwgate_runner::exit::Exit;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "ccwgate",
    about = "Campaigns, soak runs and A/B comparisons of the ccwgate guest kernel",
    after_help = Exit::help()
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// The false-positive campaign: every scenario in every mode for each
    /// seed, each seed with one delay sweep; a correct host passes it all.
    Campaign(cmd::runs::Campaign),
    /// Combine the JSON results of a campaign's shards.
    Merge(cmd::runs::Merge),
    /// Fresh seeds until the first FAIL (or all of them with --keep-going),
    /// within --runs or --duration.
    Soak(cmd::runs::Soak),
    /// Which of two result sets fails less often (per million iterations).
    Compare(cmd::CompareArgs),
    /// Known open upstream bugs (known-bugs.toml): list them, or tell
    /// whether a run's verdict is one (for run-qemu.sh --known).
    Known(cmd::KnownArgs),
    /// Speed and size: iterations per second of ssch and csch-race in every
    /// mode, checks on and off, boot to verdict, image sizes; against the C
    /// reference loop with --peer.
    Bench(cmd::bench::Bench),
    /// The names of one kind, one per line, from their one definition in
    /// gate: what run-qemu.sh and the injector accept and the verdict says.
    List(cmd::List),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // --help and --version are no error.
            let code = if e.use_stderr() {
                Exit::Error
            } else {
                Exit::Success
            };
            let _ = e.print();
            return code.into();
        }
    };
    let status = match cli.command {
        Cmd::Campaign(c) => cmd::runs::campaign(c),
        Cmd::Merge(m) => cmd::runs::merge(m),
        Cmd::Soak(s) => cmd::runs::soak(s),
        Cmd::Compare(c) => cmd::compare(c),
        Cmd::Known(k) => cmd::known(k),
        Cmd::Bench(b) => cmd::bench::bench(b),
        Cmd::List(l) => cmd::list(l),
    };
    status.into()
}
