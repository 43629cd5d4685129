use ccwgate_model::*;
use gate::cmdline::{Config, Scenario};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seeds: u64 = args.get(1).map(|s| s.parse().unwrap()).unwrap_or(20);
    for v in Variant::ALL {
        for sc in [Scenario::Ssch, Scenario::CschRace, Scenario::HschRace, Scenario::CschIdle, Scenario::Mixed] {
            let lat = Latencies::default();
            let config = Config { scenario: sc, iterations: Some(300), delay: default_sweep(&lat), ..Config::DEFAULT };
            let setup = Setup::new(v, config);
            let mut fails = std::collections::BTreeMap::new();
            let mut raced = 0;
            let t = std::time::Instant::now();
            for seed in 0..seeds {
                let r = run(&setup, seed);
                if r.mechanism.raced() { raced += 1; }
                if let Some(f) = r.failure() { *fails.entry((f.violation.class.name(), f.violation.what)).or_insert(0) += 1; }
            }
            println!("{:10} {:10} raced={raced:3} fails={:?} {:?}", v.name(), sc.name(), fails, t.elapsed());
        }
    }
}
