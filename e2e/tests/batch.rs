//! Batch boots (`--runs N`, docs/campaigns.md): each run gives the result
//! it gives when it boots alone, a FAIL stops the batch at that run, and
//! replaying the failing seed alone gives the same failure.

use e2e::{run_qemu, Run};
use gate::verdict::{parse_run, Outcome};

/// A run line's fields, owned.
type Fields = Vec<(String, String)>;

/// The run lines of a batch boot, parsed: (run, outcome, fields).
fn run_lines(run: &Run) -> Vec<(u32, Outcome, Fields)> {
    run.stdout
        .lines()
        .filter(|l| l.starts_with("RUN: "))
        .map(|l| {
            let (k, p) =
                parse_run(l).unwrap_or_else(|| panic!("unparsable run line {l} in:\n{run}"));
            let fields = p
                .fields()
                .iter()
                .map(|&(k, v)| (k.to_string(), v.to_string()))
                .collect();
            (k, p.outcome, fields)
        })
        .collect()
}

fn get<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// What must agree between a batch's run and the same seed booted alone:
/// the verdict and everything the seed decides (timing-free counts).
const SAME: [&str; 9] = [
    "scenario",
    "seed",
    "iterations",
    "reason",
    "class",
    "what",
    "starts",
    "clears",
    "halts",
];

#[test]
fn every_run_of_a_batch_gives_what_it_gives_booted_alone() {
    for (scenario, mode, delay) in [
        ("mixed", "irq", "auto"),
        ("csch-race", "tsch", "0:8192:64"),
        ("hsch-race", "poll", "0:256:1"),
        ("ssch", "wait", "auto"),
    ] {
        let batch = run_qemu(&[
            "--scenario",
            scenario,
            "--mode",
            mode,
            "--delay",
            delay,
            "--seed",
            "11",
            "--iterations",
            "200",
            "--runs",
            "4",
            "--seed-step",
            "4",
            "--timeout",
            "120",
        ]);
        assert_eq!(batch.code, 0, "{batch}");
        let lines = run_lines(&batch);
        assert_eq!(lines.len(), 4, "{batch}");
        let v = batch.verdict();
        assert_eq!(v.outcome, Outcome::Pass);
        assert_eq!(
            (
                v.get_u64("runs"),
                v.get_u64("passed"),
                v.get_u64("iterations")
            ),
            (Some(4), Some(4), Some(800)),
            "{batch}"
        );
        for (k, (run, outcome, fields)) in lines.iter().enumerate() {
            assert_eq!(*run as usize, k + 1);
            let seed = (11 + 4 * k as u64).to_string();
            assert_eq!(get(fields, "seed"), Some(seed.as_str()));
            let alone = run_qemu(&[
                "--scenario",
                scenario,
                "--mode",
                mode,
                "--delay",
                delay,
                "--seed",
                &seed,
                "--iterations",
                "200",
                "--timeout",
                "60",
            ]);
            let a = alone.verdict();
            assert_eq!(
                a.outcome, *outcome,
                "{scenario} seed {seed}:\n{alone}\n{batch}"
            );
            for key in SAME {
                assert_eq!(
                    a.get(key),
                    get(fields, key),
                    "{scenario} {mode} seed {seed}, `{key}`:\n{alone}\n{batch}"
                );
            }
        }
    }
}

#[test]
fn a_fail_stops_the_batch_and_replays_alone_the_same() {
    let args = [
        "--scenario",
        "ssch",
        "--mode",
        "irq",
        "--seed",
        "5",
        "--iterations",
        "30",
        "--inject",
        "bad-status@4",
        "--timeout",
        "120",
    ];
    let mut batch_args = args.to_vec();
    batch_args.extend(["--runs", "3", "--seed-step", "2"]);
    let batch = run_qemu(&batch_args);
    assert_eq!(batch.code, 1, "{batch}");
    let lines = run_lines(&batch);
    assert_eq!(lines.len(), 1, "the FAIL run ends the batch:\n{batch}");
    let (run, outcome, fields) = &lines[0];
    assert_eq!((*run, *outcome), (1, Outcome::Fail));
    let v = batch.verdict();
    assert_eq!(v.outcome, Outcome::Fail);
    assert_eq!(
        (
            v.get_u64("first_run"),
            v.get_u64("first_seed"),
            v.get("reason")
        ),
        (Some(1), Some(5), get(fields, "reason")),
        "{batch}"
    );
    // The failing run's evidence comes before its run line.
    let before: Vec<&str> = batch
        .stdout
        .lines()
        .take_while(|l| !l.starts_with("RUN: "))
        .collect();
    assert!(before.iter().any(|l| l.starts_with("FAIL:")), "{batch}");
    // Replayed alone: the same failure at the same iteration.
    let alone = run_qemu(&args);
    assert_eq!(alone.code, 1, "{alone}");
    for key in ["class", "what", "iteration", "iterations", "seed"] {
        assert_eq!(
            alone.field(key).as_deref(),
            get(fields, key),
            "{key}:\n{alone}\n{batch}"
        );
    }
    // Told to go on, the batch runs its other seeds (the injection fires
    // once) and still names the first failure.
    batch_args.push("--keep-going");
    let going = run_qemu(&batch_args);
    assert_eq!(going.code, 1, "{going}");
    let outcomes: Vec<Outcome> = run_lines(&going).iter().map(|l| l.1).collect();
    assert_eq!(
        outcomes,
        [Outcome::Fail, Outcome::Pass, Outcome::Pass],
        "{going}"
    );
    let v = going.verdict();
    assert_eq!(
        (
            v.get_u64("runs"),
            v.get_u64("failed"),
            v.get_u64("first_run")
        ),
        (Some(3), Some(1), Some(1)),
        "{going}"
    );
}

#[test]
fn what_boots_once_per_run_refuses_a_batch() {
    for other in [
        &["--scenario", "conformance"][..],
        &["--scenario", "ssch", "--cpus", "both"][..],
        &["--scenario", "ssch", "--append", "measure=1"][..],
    ] {
        let mut args = other.to_vec();
        args.extend(["--runs", "2"]);
        let run = run_qemu(&args);
        assert_eq!(run.code, 2, "{run}");
        assert_eq!(run.field("reason").as_deref(), Some("bad-cmdline"), "{run}");
        assert_eq!(run.field("error").as_deref(), Some("conflict"), "{run}");
    }
}
