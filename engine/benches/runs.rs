//! `cargo bench -p trainyard-engine --bench runs`: the Projects page's runs
//! table over 10,000 runs (each with two metrics), sorted by id, by a final
//! metric and by a parameter, a deep page and a search. `cargo test
//! --benches` runs a tiny version. Results: stdout and
//! `target/bench/runs.json`. No assertion on times: figures go to
//! docs/benchmarks.md.

use std::time::{Duration, Instant};

use serde_json::json;
use trainyard_core::runs::{RunColumn, RunsQuery};
use trainyard_core::SubmitOptions;
use trainyard_engine::{Engine, EngineSettings, MetricPoint};

/// Runs per submitted sweep (the default sweep limit is 1,000).
const SWEEP: usize = 1_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let (runs, repeats) = if smoke { (200, 3) } else { (10_000, 30) };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(runs, repeats))
}

async fn run(runs: usize, repeats: usize) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let engine = Engine::open(EngineSettings::new(dir.path())).await?;
    let seeding = Instant::now();
    let mut made = 0;
    while made < runs {
        let n = SWEEP.min(runs - made);
        let lrs: Vec<String> = (0..n)
            .map(|i| format!("{}", (made + i) as f64 / 1e4))
            .collect();
        let yaml = format!(
            "project: big\nname: \"lr{{{{lr}}}}\"\ncommand: x\ngpus: 0\nbatch: 32\nlr: [{}]\n",
            lrs.join(", ")
        );
        let jobs = engine.submit(&yaml, SubmitOptions::default()).await?.jobs;
        for (i, job) in jobs.iter().enumerate() {
            let x = (made + i) as f64;
            let points: Vec<MetricPoint> = (0..3)
                .flat_map(|step| {
                    let s = f64::from(step);
                    [
                        MetricPoint {
                            key: "loss",
                            step: s,
                            value: 1.0 / (1.0 + s + (x * 7.0) % 13.0),
                            time_ms: 1,
                        },
                        MetricPoint {
                            key: "accuracy",
                            step: s,
                            value: (x * 3.0 % 100.0) / 100.0,
                            time_ms: 1,
                        },
                    ]
                })
                .collect();
            engine.ingest_metrics(job.id, &points).await?;
        }
        made += n;
    }
    println!(
        "seeded {runs} runs in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    let base = RunsQuery {
        page_size: 50,
        ..RunsQuery::newest("big")
    };
    let last_page = u32::try_from(runs.div_ceil(50) - 1)?;
    let cases = [
        ("newest first", base.clone()),
        (
            "by final loss",
            RunsQuery {
                sort: RunColumn::Metric("loss".into()),
                descending: false,
                ..base.clone()
            },
        ),
        (
            "by parameter lr",
            RunsQuery {
                sort: RunColumn::Param("lr".into()),
                ..base.clone()
            },
        ),
        (
            "last page",
            RunsQuery {
                page: last_page,
                ..base.clone()
            },
        ),
        (
            "search \"lr0.5\"",
            RunsQuery {
                search: "lr0.5".into(),
                ..base.clone()
            },
        ),
    ];
    let mut results = Vec::new();
    println!("{:<20} {:>8} {:>8}", "runs table page", "p50 ms", "max ms");
    for (name, q) in cases {
        let mut times: Vec<Duration> = Vec::with_capacity(repeats);
        for _ in 0..repeats {
            let t = Instant::now();
            let page = engine.runs_page(&q).await?;
            times.push(t.elapsed());
            assert!(!page.rows.is_empty(), "{name}: no rows");
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let (p50, max) = (ms(times[times.len() / 2]), ms(times[times.len() - 1]));
        println!("{name:<20} {p50:>8.1} {max:>8.1}");
        results.push(json!({ "case": name, "p50_ms": p50, "max_ms": max }));
    }
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&out)?;
    std::fs::write(
        out.join("runs.json"),
        serde_json::to_string_pretty(
            &json!({ "runs": runs, "repeats": repeats, "results": results }),
        )?,
    )?;
    engine.close().await;
    Ok(())
}
