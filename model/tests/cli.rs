//! The command's exit statuses and output.

use std::process::Command;

fn model(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ccwgate-model"))
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn unfixed_fails_and_reference_passes() {
    let (rc, out, _) = model(&[
        "--variant",
        "unfixed",
        "--scenario",
        "csch-race",
        "--seeds",
        "200",
    ]);
    assert_eq!(rc, 1, "{out}");
    assert!(
        out.contains("unfixed") && out.contains("detected=200"),
        "{out}"
    );
    let (rc, out, _) = model(&[
        "--variant",
        "reference",
        "--scenario",
        "csch-race",
        "--seeds",
        "200",
    ]);
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("detected=0"), "{out}");
}

#[test]
fn compare_names_the_better_host() {
    let (rc, out, _) = model(&[
        "--compare",
        "unfixed",
        "reference",
        "--scenario",
        "csch-race",
        "--seeds",
        "50",
    ]);
    assert_eq!(rc, 1);
    assert!(
        out.contains("reference fails less often than unfixed"),
        "{out}"
    );
    let (_, out, _) = model(&[
        "--compare",
        "reference",
        "reference",
        "--scenario",
        "ssch",
        "--seeds",
        "5",
    ]);
    assert!(out.contains("the data cannot tell"), "{out}");
}

#[test]
fn kernel_options_pass_through_to_the_driver() {
    let (rc, out, _) = model(&[
        "--variant",
        "reference",
        "--scenario",
        "ssch",
        "--seeds",
        "3",
        "--append",
        "io_timeout_ms=5",
    ]);
    assert_eq!(rc, 0, "{out}");
    // The kernel's own parser rejects what the kernel would.
    let (rc, _, err) = model(&["--append", "bogus=1"]);
    assert_eq!(rc, 2);
    assert!(err.contains("bogus=1"), "{err}");
}

#[test]
fn usage_errors_exit_2_naming_the_argument() {
    let (rc, _, err) = model(&["--variant", "nonsense"]);
    assert_eq!(rc, 2);
    assert!(err.contains("nonsense"), "{err}");
    let (rc, _, err) = model(&["--scenario", "selftest"]);
    assert_eq!(rc, 2);
    assert!(err.contains("selftest"), "{err}");
    let (rc, _, err) = model(&["--latency", "workqueue=9"]);
    assert_eq!(rc, 2);
    assert!(err.contains("workqueue=9"), "{err}");
    for bad in [
        "wake=1:2,5:6@101",
        "wake=1:2,6:5@10",
        "wake=1:2,5:6",
        "guest=1:2@5",
    ] {
        let (rc, _, err) = model(&["--latency", bad]);
        assert_eq!(rc, 2, "{bad}");
        assert!(err.contains(bad), "{err}");
    }
    let (rc, _, err) = model(&["--profile", "kvm-ish"]);
    assert_eq!(rc, 2);
    assert!(err.contains("kvm-ish"), "{err}");
}

/// The options of docs/model.md's "The model held to the real stack": the
/// box's host, the guest's mode, the nested profile, slow modes.
#[test]
fn the_real_stacks_cell_runs() {
    let (rc, out, err) = model(&[
        "--variant",
        "linux-6.1.192",
        "--scenario",
        "csch-race",
        "--seeds",
        "5",
        "--iterations",
        "100",
        "--delay",
        "auto",
        "--accel",
        "tcg",
        "--profile",
        "nested",
        "--latency",
        "wake=50:500,2000:5000@5",
        "--latency",
        "guest=50:500",
        "--append",
        "host=vfio-ccw mode=tsch",
    ]);
    assert!(rc == 0 || rc == 1, "{out}{err}");
    assert!(out.contains("linux-6.1.192 csch-race runs=5"), "{out}");
    let (rc, _, err) = model(&["--variant", "linux-6.1.192+mutex-2026"]);
    assert_eq!(rc, 2);
    assert!(err.contains("already holds io_mutex"), "{err}");
}

#[test]
fn exhaustive_reports_counts_per_variant() {
    let (rc, out, _) = model(&["--exhaustive", "--preemptions", "1"]);
    assert_eq!(rc, 1, "{out}");
    for v in [
        "unfixed",
        "cp-init-check",
        "idle-in-fsm",
        "fixed",
        "reference",
    ] {
        assert!(out.contains(v), "{out}");
    }
    let (rc, out, _) = model(&[
        "--exhaustive",
        "--variant",
        "reference",
        "--preemptions",
        "2",
    ]);
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("failing=0"), "{out}");
}

/// Issue 17's "done when" commands.
#[test]
fn exhaustive_honours_wait_owed_and_the_candidate_set_passes() {
    let count = |out: &str| -> u64 {
        let key = "interleavings=";
        let at = out.find(key).expect("a count") + key.len();
        out[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let exhaustive = |append: &str| {
        model(&[
            "--exhaustive",
            "--preemptions",
            "3",
            "--variant",
            "fixed",
            "--append",
            append,
        ])
    };
    let (rc, owed, _) = exhaustive("host=vfio-ccw wait_owed=1");
    assert_eq!(rc, 1, "{owed}");
    assert!(
        owed.contains("wait_owed=1") && !owed.contains("failing=0"),
        "{owed}"
    );
    let (rc, plain, _) = exhaustive("host=vfio-ccw");
    assert_eq!(rc, 1);
    assert_ne!(count(&owed), count(&plain), "{owed}\n{plain}");

    let full = "fixed+q-relay+k-irb-once+k-gen";
    for append in ["host=vfio-ccw", "host=vfio-ccw wait_owed=1"] {
        let (rc, out, _) = model(&[
            "--variant",
            full,
            "--scenario",
            "all",
            "--seeds",
            "1000",
            "--append",
            append,
        ]);
        assert_eq!(rc, 0, "{out}");
        let (rc, out, _) = model(&[
            "--exhaustive",
            "--variant",
            full,
            "--scenario",
            "csch-race",
            "--append",
            append,
        ]);
        assert_eq!(rc, 0, "{out}");
    }
    for v in [
        "fixed",
        "fixed+mutex-2026",
        "fixed+k-irb-once+k-gen",
        "fixed+q-relay",
    ] {
        let (rc, out, _) = model(&[
            "--variant",
            v,
            "--scenario",
            "hsch-race",
            "--seeds",
            "20",
            "--append",
            "host=vfio-ccw",
        ]);
        assert_eq!(rc, 1, "{v}: {out}");
    }
}

#[test]
fn hosts_parse_in_any_order_and_print_canonically() {
    let (rc, out, _) = model(&[
        "--variant",
        "fixed+k-gen+k-irb-once+q-relay",
        "--scenario",
        "ssch",
        "--seeds",
        "2",
    ]);
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("fixed+q-relay+k-irb-once+k-gen ssch"), "{out}");
    let (rc, _, err) = model(&["--variant", "fixed+q-rely"]);
    assert_eq!(rc, 2);
    assert!(err.contains("q-rely"), "{err}");
    let (rc, help, _) = model(&["--help"]);
    assert_eq!(rc, 0);
    for needle in [
        "mutex-2026",
        "k-irb-once",
        "k-gen",
        "q-relay",
        "vfio_ccw_sch_io_todo",
        "fsm_irq",
        "css_do_csch",
        "vfio_ccw_io_notifier_handler",
    ] {
        assert!(help.contains(needle), "{needle}: {help}");
    }
}

#[test]
fn report_writes_the_page_and_the_markdown() {
    let dir = std::env::temp_dir().join(format!("ccwgate-cli-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = dir.to_str().expect("utf-8 path");
    let (rc, _, err) = model(&[
        "report",
        "--out",
        out,
        "--seeds",
        "3",
        "--iterations",
        "60",
        "--preemptions",
        "1",
    ]);
    assert_eq!(rc, 0, "{err}");
    let page = std::fs::read_to_string(dir.join("index.html")).expect("index.html");
    assert!(page.matches("<svg").count() >= 2, "plots inline");
    let md = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
    assert!(
        md.contains("| host | scenario | mode | runs | FAIL |"),
        "{md}"
    );
    assert!(dir.join("detections-timed.svg").exists());
    let _ = std::fs::remove_dir_all(&dir);
    let (rc, _, err) = model(&["report"]);
    assert_eq!(rc, 2, "--out is required: {err}");
}
