//! `cargo bench -p trainyard-engine --bench tensorboard -- --bench`:
//! TensorBoard import points/s. Imports the log dir named by
//! `TRAINYARD_TB_BENCH_DIR` (`scripts/tensorboard/bench_import.sh` writes
//! one with a 1,000,000-scalar event file and times TensorBoard's own
//! `EventFileLoader` on it in the same run) into a fresh on-disk data dir:
//! reading, CRC checks, decoding and recording every point with its
//! catalog commit. `cargo test --benches` imports the small committed
//! fixture instead.
//!
//! Results: stdout and `target/bench/tensorboard.json`.

use std::path::PathBuf;
use std::time::Instant;

use serde_json::json;
use trainyard_engine::{Engine, EngineSettings};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let dir = match std::env::var_os("TRAINYARD_TB_BENCH_DIR") {
        Some(dir) if !smoke => PathBuf::from(dir),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/tensorboard/logs/cifar/scalars"),
    };
    let repeats: usize = if smoke {
        1
    } else {
        std::env::var("TRAINYARD_TB_BENCH_REPEATS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(3)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut best = f64::INFINITY;
        let mut points = 0;
        let mut bytes = 0u64;
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().contains("tfevents") {
                bytes += entry.metadata()?.len();
            }
        }
        for _ in 0..repeats {
            let data = tempfile::tempdir()?;
            let engine = Engine::open(EngineSettings::new(data.path())).await?;
            let started = Instant::now();
            let report = engine.import_tensorboard(&dir, Some("bench")).await?;
            let secs = started.elapsed().as_secs_f64();
            assert!(report.problems == 0, "{report:?}");
            points = report.points;
            best = best.min(secs);
            engine.close().await;
        }
        let rate = points as f64 / best;
        println!(
            "tensorboard import: {points} points from {:.1} MB in {best:.3} s (best of {repeats}): {rate:.0} points/s",
            bytes as f64 / 1e6
        );
        let out = PathBuf::from(
            std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()),
        )
        .join("bench");
        std::fs::create_dir_all(&out)?;
        std::fs::write(
            out.join("tensorboard.json"),
            serde_json::to_vec_pretty(&json!({
                "dir": dir,
                "bytes": bytes,
                "points": points,
                "seconds": best,
                "points_per_second": rate,
                "repeats": repeats,
            }))?,
        )?;
        Ok(())
    })
}
