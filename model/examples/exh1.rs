use ccwgate_model::*;
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let v = Variant::from_name(&a[1]).unwrap();
    let p: u32 = a[2].parse().unwrap();
    let r = exhaustive(v, &exhaustive_config(1), Bounds { preemptions: p, ..Bounds::default() }, |_| {});
    let s = r.first_failing.unwrap();
    let (res, log) = replay(v, &exhaustive_config(1), p, &s);
    for l in &log { println!("{l}"); }
    println!("{:?}\n{:?}", res.outcome, res.mechanism);
}
