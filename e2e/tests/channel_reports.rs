//! Channel reports pending at the end are evidence: a device hot-plugged
//! while the kernel runs (through QEMU's QMP socket) leaves a channel report
//! word that the kernel prints, and the run still ends in one verdict.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use e2e::{kernel, run_script};

#[test]
fn a_hot_plugged_device_leaves_a_channel_report() {
    let socket = std::env::temp_dir().join(format!("ccwgate-qmp-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&socket);
    let qmp = format!("unix:{},server=on,wait=off", socket.display());
    let kernel = kernel().to_str().unwrap().to_string();
    let run = std::thread::scope(|s| {
        let guest = s.spawn(|| {
            run_script(
                &["--kernel", &kernel],
                &[
                    "--scenario",
                    "ssch",
                    "--iterations",
                    "300000",
                    "--delay",
                    "0",
                    "--timeout",
                    "60",
                    "--",
                    "-qmp",
                    &qmp,
                ],
            )
        });
        // QEMU listens once it has started: try for a while.
        let mut stream = None;
        for _ in 0..200 {
            if let Ok(c) = UnixStream::connect(&socket) {
                stream = Some(c);
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let stream = stream.expect("QMP socket");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        let mut line = String::new();
        let mut next_line = || {
            line.clear();
            reader.read_line(&mut line).expect("QMP answers");
            line.clone()
        };
        let mut send = |request: &str| {
            writer.write_all(request.as_bytes()).unwrap();
            writer.write_all(b"\n").unwrap();
        };
        assert!(next_line().contains("QMP"), "the greeting");
        send(r#"{"execute":"qmp_capabilities"}"#);
        assert!(next_line().contains("return"));
        send(
            r#"{"execute":"device_add","arguments":{"driver":"virtio-rng-ccw","devno":"fe.0.0002","id":"hot"}}"#,
        );
        // Events may come first; the command's answer is a "return".
        let answer = (0..8)
            .map(|_| next_line())
            .find(|l| l.contains("return") || l.contains("error"));
        assert!(
            answer.as_deref().is_some_and(|a| a.contains("return")),
            "{answer:?}"
        );
        guest.join().unwrap()
    });
    let _ = std::fs::remove_file(&socket);
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("crw: 0x") && l.ends_with("pending at the end")),
        "{run}"
    );
    assert_eq!(run.verdict_lines().len(), 1, "{run}");
}
