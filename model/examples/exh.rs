use ccwgate_model::*;
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let p: u32 = a.get(1).map(|s| s.parse().unwrap()).unwrap_or(2);
    for v in Variant::ALL {
        let t = std::time::Instant::now();
        let r = exhaustive(v, &exhaustive_config(1), Bounds { preemptions: p, ..Bounds::default() }, |_| {});
        println!("{:12} runs={} failing={} raced={} trunc={} complete={} {:?} {:?}", v.name(), r.runs, r.failing, r.raced, r.truncated, r.complete, r.classes, t.elapsed());
    }
}
