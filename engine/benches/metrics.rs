//! `cargo bench -p trainyard-engine --bench metrics`: metric ingest
//! points/s and chart query latency, each next to a baseline in the same
//! run (see docs/metrics.md). `cargo test --benches` runs a tiny version.
//!
//! (i) Ingest: batches of 1,000 points over 10 keys into an on-disk data
//!     dir, vs writing the same bytes to one plain file with no catalog.
//! (ii) Chart query: a 1,000,000-point series at a 2,000-bucket budget,
//!     full range and zoomed to 5%, vs a plain sequential scan of the whole
//!     file computing the same min/max buckets.
//!
//! Results: stdout and `target/bench/metrics.json`.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::json;
use trainyard_core::SubmitOptions;
use trainyard_engine::{Engine, EngineSettings, MetricPoint};

const KEYS: usize = 10;
const BATCH: usize = 1_000;
const BUDGET: u32 = 2_000;

struct Settings {
    ingest_points: usize,
    series_points: usize,
    queries: usize,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let s = if smoke {
        Settings {
            ingest_points: 20_000,
            series_points: 10_000,
            queries: 5,
        }
    } else {
        Settings {
            ingest_points: 2_000_000,
            series_points: 1_000_000,
            queries: 200,
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(s, smoke))
}

async fn engine_on(dir: &std::path::Path) -> Result<(Engine, i64), Box<dyn std::error::Error>> {
    let engine = Engine::open(EngineSettings::new(dir)).await?;
    let job = engine
        .submit("command: x\ngpus: 0\n", SubmitOptions::default())
        .await?
        .jobs[0]
        .id;
    Ok((engine, job))
}

async fn run(s: Settings, smoke: bool) -> Result<(), Box<dyn std::error::Error>> {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    println!("Metrics benchmark ({cpus} CPU cores)\n");
    let dir = tempfile::tempdir()?;

    // (i) Ingest.
    let keys: Vec<String> = (0..KEYS).map(|k| format!("train/metric_{k}")).collect();
    let (engine, job) = engine_on(&dir.path().join("ingest")).await?;
    let batches = s.ingest_points / BATCH;
    let started = Instant::now();
    for b in 0..batches {
        let batch: Vec<MetricPoint> = (0..BATCH)
            .map(|i| {
                let step = (b * BATCH / KEYS + i / KEYS) as f64;
                MetricPoint {
                    key: &keys[i % KEYS],
                    step,
                    value: (step * 0.001).sin(),
                    time_ms: 1_700_000_000_000 + b as i64,
                }
            })
            .collect();
        engine.ingest_metrics(job, &batch).await?;
    }
    let ingest = started.elapsed();
    engine.close().await;
    let baseline_file = dir.path().join("plain.bin");
    let started = Instant::now();
    {
        let mut file = std::fs::File::create(&baseline_file)?;
        let mut bytes = Vec::with_capacity(BATCH * 24);
        for b in 0..batches {
            bytes.clear();
            for i in 0..BATCH {
                let step = (b * BATCH / KEYS + i / KEYS) as f64;
                bytes.extend_from_slice(&step.to_le_bytes());
                bytes.extend_from_slice(&(step * 0.001).sin().to_le_bytes());
                bytes.extend_from_slice(&(1_700_000_000_000 + b as i64).to_le_bytes());
            }
            file.write_all(&bytes)?;
        }
    }
    let baseline_ingest = started.elapsed();
    let points = (batches * BATCH) as f64;
    let rate = points / ingest.as_secs_f64();
    let baseline_rate = points / baseline_ingest.as_secs_f64();

    // (ii) Chart queries on one long series.
    let (engine, job) = engine_on(&dir.path().join("query")).await?;
    let n = s.series_points;
    for chunk in (0..n).collect::<Vec<_>>().chunks(50_000) {
        let batch: Vec<MetricPoint> = chunk
            .iter()
            .map(|i| MetricPoint {
                key: "loss",
                step: *i as f64,
                value: if *i == n / 3 {
                    1e9
                } else {
                    (*i as f64 * 0.01).cos()
                },
                time_ms: 0,
            })
            .collect();
        engine.ingest_metrics(job, &batch).await?;
    }
    let last = (n - 1) as f64;
    let (z_from, z_to) = (last * 0.30, last * 0.35);
    let mut full = Vec::new();
    let mut zoom = Vec::new();
    for _ in 0..s.queries {
        let t = Instant::now();
        let series = engine
            .metric_series(job, "loss", BUDGET, None, None)
            .await?;
        full.push(t.elapsed());
        assert!(
            series.buckets.iter().any(|b| b.max == 1e9),
            "the spike survived"
        );
        let t = Instant::now();
        let series = engine
            .metric_series(job, "loss", BUDGET, Some(z_from), Some(z_to))
            .await?;
        zoom.push(t.elapsed());
        assert!(series.buckets.iter().any(|b| b.max == 1e9));
    }
    let file = std::fs::read_dir(dir.path().join("query/metrics").join(job.to_string()))?
        .next()
        .ok_or("no points file")??
        .path();
    let mut scan = Vec::new();
    let mut scan_zoom = Vec::new();
    for _ in 0..s.queries {
        let t = Instant::now();
        std::hint::black_box(scan_buckets(&file, 0.0, last)?);
        scan.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(scan_buckets(&file, z_from, z_to)?);
        scan_zoom.push(t.elapsed());
    }
    engine.close().await;

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (full_p50, full_p99) = (ms(pct(&mut full, 0.50)), ms(pct(&mut full, 0.99)));
    let (zoom_p50, zoom_p99) = (ms(pct(&mut zoom, 0.50)), ms(pct(&mut zoom, 0.99)));
    let (scan_p50, scan_p99) = (ms(pct(&mut scan, 0.50)), ms(pct(&mut scan, 0.99)));
    let (scan_zoom_p50, scan_zoom_p99) =
        (ms(pct(&mut scan_zoom, 0.50)), ms(pct(&mut scan_zoom, 0.99)));

    println!(
        "Ingest: {} points, batches of {BATCH} over {KEYS} keys",
        batches * BATCH
    );
    println!("| what | seconds | points/s |");
    println!("| --- | ---: | ---: |");
    println!(
        "| engine (catalog + point files) | {:.3} | {rate:.0} |",
        ingest.as_secs_f64()
    );
    println!(
        "| baseline: same bytes to one plain file | {:.3} | {baseline_rate:.0} |",
        baseline_ingest.as_secs_f64()
    );
    println!("engine / baseline: {:.2}\n", rate / baseline_rate);
    println!(
        "Chart query: {n}-point series, {BUDGET}-bucket budget, {} queries each",
        s.queries
    );
    println!("| what | p50 ms | p99 ms |");
    println!("| --- | ---: | ---: |");
    println!("| engine, full range | {full_p50:.2} | {full_p99:.2} |");
    println!("| engine, zoomed to 5% | {zoom_p50:.2} | {zoom_p99:.2} |");
    println!("| baseline scan, full range | {scan_p50:.2} | {scan_p99:.2} |");
    println!("| baseline scan, zoomed range | {scan_zoom_p50:.2} | {scan_zoom_p99:.2} |");

    let report = json!({
        "cpus": cpus,
        "ingest": {
            "points": batches * BATCH, "batch": BATCH, "keys": KEYS,
            "seconds": ingest.as_secs_f64(), "points_per_s": rate,
            "baseline_seconds": baseline_ingest.as_secs_f64(), "baseline_points_per_s": baseline_rate,
        },
        "query": {
            "series_points": n, "budget": BUDGET, "queries": s.queries,
            "full_ms": {"p50": full_p50, "p99": full_p99},
            "zoom_ms": {"p50": zoom_p50, "p99": zoom_p99},
            "baseline_scan_full_ms": {"p50": scan_p50, "p99": scan_p99},
            "baseline_scan_zoom_ms": {"p50": scan_zoom_p50, "p99": scan_zoom_p99},
        },
    });
    let default_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    let out = std::env::var_os("CARGO_TARGET_DIR")
        .map(|t| std::path::PathBuf::from(t).join("bench"))
        .unwrap_or(default_dir);
    std::fs::create_dir_all(&out)?;
    // The smoke run (`cargo test --benches`) must not overwrite real figures.
    let path = out.join(if smoke {
        "metrics-smoke.json"
    } else {
        "metrics.json"
    });
    std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
    println!("\nwritten to {}", path.display());
    Ok(())
}

/// The naive way: read the whole file and bucket every record in range.
fn scan_buckets(path: &std::path::Path, lo: f64, hi: f64) -> std::io::Result<Vec<(f64, f64)>> {
    let bytes = std::fs::read(path)?;
    let n = BUDGET as usize;
    let width = (hi - lo) / n as f64;
    let mut buckets = vec![(f64::INFINITY, f64::NEG_INFINITY); n];
    for record in bytes.chunks_exact(24) {
        let mut word = [0u8; 8];
        word.copy_from_slice(&record[..8]);
        let step = f64::from_le_bytes(word);
        word.copy_from_slice(&record[8..16]);
        let value = f64::from_le_bytes(word);
        if step < lo || step > hi {
            continue;
        }
        let b = (((step - lo) / width) as usize).min(n - 1);
        buckets[b] = (buckets[b].0.min(value), buckets[b].1.max(value));
    }
    Ok(buckets)
}

fn pct(samples: &mut [Duration], q: f64) -> Duration {
    samples.sort_unstable();
    let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
    samples.get(i).copied().unwrap_or_default()
}
