//! The agent for this machine's own GPUs, run inside the server process so a
//! single command gives a working one-box setup.

use std::net::SocketAddr;
use std::path::Path;

use trainyard_agent::{AgentSettings, GpuSource};

use crate::settings::{ApiKey, LocalAgent};
use crate::shutdown::Shutdown;

/// Starts the in-process agent talking to the server at `addr` over loopback.
pub fn spawn(
    settings: &LocalAgent,
    data_dir: &Path,
    addr: SocketAddr,
    api_key: Option<&ApiKey>,
    shutdown: Shutdown,
) -> tokio::task::JoinHandle<()> {
    let ip = if addr.ip().is_unspecified() {
        [127, 0, 0, 1].into()
    } else {
        addr.ip()
    };
    let url = format!("http://{}", SocketAddr::new(ip, addr.port()));
    let mut config = AgentSettings::new(url, settings.host_id.clone());
    config.token = api_key.map(|k| k.secret().to_string());
    // Run dirs live with the server's data, not in whatever directory the
    // server was started from; commands still run from that directory.
    config.work_dir = data_dir.join("agent");
    config.cpu_slots = settings.cpu_slots;
    config.sync_strategy = settings.sync_strategy;
    config.gpus = match settings.fake_gpus {
        Some(n) => GpuSource::Fake(n),
        None => GpuSource::Nvml,
    };
    tokio::spawn(async move {
        tracing::info!(host_id = %config.host_id, "starting local agent");
        if let Err(e) = trainyard_agent::run(config, async move { shutdown.wait().await }).await {
            tracing::error!("local agent stopped: {e}");
        }
    })
}
