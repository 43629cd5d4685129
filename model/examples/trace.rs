use ccwgate_model::*;
use gate::cmdline::{Config, Scenario};
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let v = Variant::from_name(&a[1]).unwrap();
    let sc = Scenario::from_name(a[2].as_bytes()).unwrap();
    let seed: u64 = a[3].parse().unwrap();
    let lat = Latencies::default();
    let config = Config { scenario: sc, iterations: Some(300), delay: default_sweep(&lat), ..Config::DEFAULT };
    let (r, log) = run_logged(&Setup::new(v, config), seed);
    let n = log.len();
    for l in &log[n.saturating_sub(a.get(4).map(|s| s.parse().unwrap()).unwrap_or(60))..] { println!("{l}"); }
    println!("{:?}", r.outcome); println!("{:?}", r.mechanism);
}
