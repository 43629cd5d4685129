//! A bounded false-positive campaign: on the unmodified QEMU every scenario,
//! mode, seed and delay sweep must PASS. (The full campaign is README's
//! `./campaign.sh --seeds 1000`.)

use std::process::Command;

#[test]
fn thirty_seeds_of_everything_pass() {
    e2e::kernel(); // build once, into the e2e target directory
    let out = Command::new(e2e::workspace().join("campaign.sh"))
        .args(["--seeds", "30", "--iterations", "200"])
        .env("CARGO_TARGET_DIR", e2e::workspace().join("target/e2e"))
        .output()
        .expect("campaign.sh starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("campaign: runs="))
        .unwrap_or_else(|| {
            panic!("no summary:\n{stdout}\n{stderr}");
        });
    // 30 seeds x 6 scenarios x 4 modes.
    assert!(
        summary.starts_with("campaign: runs=720 pass=720 fail=0 error=0 "),
        "{stdout}\n{stderr}"
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
}

#[test]
fn a_broken_host_does_not_pass_the_campaign() {
    e2e::kernel();
    let out = Command::new(e2e::workspace().join("campaign.sh"))
        .args([
            "--seeds",
            "1",
            "--iterations",
            "30",
            "--",
            "--inject",
            "bad-status@3",
        ])
        .env("CARGO_TARGET_DIR", e2e::workspace().join("target/e2e"))
        .output()
        .expect("campaign.sh starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    // smoke runs one iteration, so its injection cannot fire (ERROR); every
    // other scenario must FAIL.
    assert!(
        stdout.contains("campaign: runs=24 pass=0 fail=20 error=4 "),
        "{stdout}"
    );
    assert!(stdout.contains("not passed: 1 3 scenario=ssch"), "{stdout}");
}
