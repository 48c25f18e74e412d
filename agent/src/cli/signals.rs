//! Turns SIGTERM (systemd, Docker, Kubernetes) and SIGINT (Ctrl-C) into the
//! shutdown future `trainyard_agent::run` waits on.

/// Resolves on the first SIGTERM or SIGINT.
#[cfg(unix)]
pub async fn terminated() {
    use tokio::signal::unix::{signal, SignalKind};

    // Registering can only fail if the signal machinery is unavailable; the
    // agent then still runs and can be stopped by SIGKILL.
    let terminate = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    let (mut terminate, mut interrupt) = match (terminate, interrupt) {
        (Ok(t), Ok(i)) => (t, i),
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!("cannot listen for SIGTERM/SIGINT ({e}); stop the agent with SIGKILL");
            return std::future::pending().await;
        }
    };
    let name = tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
    };
    tracing::info!("received {name}, shutting down");
}

/// Resolves on Ctrl-C where Unix signals do not exist.
#[cfg(not(unix))]
pub async fn terminated() {
    if let Err(e) = tokio::signal::ctrl_c().await {
        tracing::warn!("cannot listen for Ctrl-C ({e})");
        return std::future::pending().await;
    }
    tracing::info!("received Ctrl-C, shutting down");
}
