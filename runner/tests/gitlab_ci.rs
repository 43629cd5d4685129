//! `contrib/gitlab-ci.yml` is YAML GitLab can read, has the jobs the docs
//! promise, and every ccwgate command and option in it is accepted: the
//! runner's with `--help` after them (clap checks each option and value on
//! the way), run-qemu.sh's with `--dry-run`.

use std::path::Path;
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn template() -> Yaml {
    let text = std::fs::read_to_string(workspace().join("contrib/gitlab-ci.yml")).unwrap();
    let mut docs = YamlLoader::load_from_str(&text).expect("contrib/gitlab-ci.yml is YAML");
    assert_eq!(docs.len(), 1);
    docs.remove(0)
}

/// Shell words of a script line, variables given example values; quotes
/// removed (the template quotes only whole words).
fn words(line: &str) -> Vec<String> {
    let line = line
        .replace("$CCWGATE_SEEDS", "250")
        .replace("$CI_NODE_INDEX", "1")
        .replace("$CI_NODE_TOTAL", "4")
        .replace("$CCWGATE_ITERATIONS", "1000")
        .replace("$CCWGATE_MDEV_UUID", "8d8a1a7c-5b5a-4b3f-9c61-0a1b2c3d4e5f");
    assert!(
        !line.contains('$'),
        "a variable this test does not know: {line}"
    );
    line.split_whitespace()
        .map(|w| w.replace('"', ""))
        .collect()
}

fn script(job: &Yaml) -> Vec<String> {
    job["script"]
        .as_vec()
        .expect("a script")
        .iter()
        .map(|l| l.as_str().expect("script lines are strings").to_string())
        .collect()
}

fn accepted(cmd: &mut Command) {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{cmd:?} refused:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// run-qemu.sh options, checked with a dry run (before any preflight).
fn run_qemu_accepts(args: &[String]) {
    accepted(
        Command::new(workspace().join("run-qemu.sh"))
            .args(args)
            .arg("--dry-run")
            .env("CCWGATE_BIN", env!("CARGO_BIN_EXE_ccwgate")),
    );
}

/// A runner command line: its options with `--help` before any `--`,
/// and the run-qemu.sh options after `--` with a dry run.
fn ccwgate_accepts(args: &[String]) {
    let split = args.iter().position(|a| a == "--").unwrap_or(args.len());
    accepted(
        Command::new(env!("CARGO_BIN_EXE_ccwgate"))
            .args(&args[..split])
            .arg("--help"),
    );
    if split < args.len() {
        run_qemu_accepts(&args[split + 1..]);
    }
}

/// Every ccwgate invocation in `lines`: how many.
fn check_lines(lines: &[String]) -> usize {
    let mut n = 0;
    for line in lines {
        let w = words(line);
        if let Some(i) = w.iter().position(|x| x == "ccwgate-runner") {
            assert_eq!(w.get(i + 1).map(String::as_str), Some("--"), "{line}");
            ccwgate_accepts(&w[i + 2..]);
            n += 1;
        } else if let Some(i) = w.iter().position(|x| x.ends_with("run-qemu.sh")) {
            run_qemu_accepts(&w[i + 1..]);
            n += 1;
        }
    }
    n
}

#[test]
fn the_template_has_sharded_campaign_merge_and_a_manual_vfio_ccw_job() {
    let t = template();
    let campaign = &t["campaign"];
    let shards = campaign["parallel"].as_i64().expect("parallel: N");
    assert!(shards > 1);
    let line = script(campaign).join("\n");
    assert!(
        line.contains("--shard \"$CI_NODE_INDEX/$CI_NODE_TOTAL\""),
        "{line}"
    );
    assert_eq!(
        campaign["artifacts"]["reports"]["junit"].as_str(),
        Some("shard-*.xml")
    );
    let merge = &t["campaign-merge"];
    assert_eq!(merge["needs"][0].as_str(), Some("campaign"));
    assert!(script(merge).join("\n").contains(" merge shard-*.json "));
    assert!(merge["artifacts"]["reports"]["junit"].as_str().is_some());
    let vfio = &t["vfio-ccw"];
    assert_eq!(vfio["when"].as_str(), Some("manual"));
    assert!(vfio["variables"]["CCWGATE_MDEV_UUID"].as_str().is_some());
    let tags: Vec<&str> = vfio["tags"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert!(tags.contains(&"s390x") && tags.contains(&"kvm"), "{tags:?}");
    let lines = script(vfio);
    assert!(
        lines
            .iter()
            .filter(|l| l.contains("run-qemu.sh") || l.contains("ccwgate-runner"))
            .all(|l| l.contains("--known")),
        "{lines:?}"
    );
    assert!(vfio["artifacts"]["reports"]["junit"].as_str().is_some());
}

#[test]
fn every_ccwgate_command_and_option_in_the_template_is_accepted() {
    let t = template();
    let jobs = t.as_hash().expect("a mapping of jobs");
    let mut checked = 0;
    for (name, job) in jobs {
        if job["script"].is_badvalue() {
            continue;
        }
        checked += check_lines(&script(job));
        let _ = name;
    }
    assert_eq!(checked, 5, "the template's ccwgate command lines");
}

#[test]
fn the_check_refuses_what_ccwgate_refuses() {
    let bad = ["cargo run -q --release -p ccwgate-runner -- campaign --shards 4".to_string()];
    let refused = std::panic::catch_unwind(|| check_lines(&bad));
    assert!(refused.is_err(), "an unknown runner option must be caught");
    let bad = ["./run-qemu.sh --knwon".to_string()];
    assert!(std::panic::catch_unwind(|| check_lines(&bad)).is_err());
    let bad = ["cargo run -p ccwgate-runner -- soak --runs 1 -- --bogus".to_string()];
    assert!(std::panic::catch_unwind(|| check_lines(&bad)).is_err());
}
