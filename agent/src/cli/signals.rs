//! Turns signals into [`Control`] orders for `trainyard_agent::run_controlled`:
//! SIGTERM (systemd, `--stop`, Docker) and SIGINT (Ctrl-C) exit and leave
//! the jobs running for the next agent to adopt; SIGUSR1 (`--stop --drain`)
//! drains.

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;
use trainyard_agent::Control;

/// Registers the handlers now (so no signal sent once this returns is
/// lost to the default action) and returns the loop that forwards them;
/// it never ends. Registering fails only if the signal machinery is
/// unavailable.
pub fn listen(
    orders: watch::Sender<Control>,
) -> std::io::Result<impl std::future::Future<Output = ()>> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut drain = signal(SignalKind::user_defined1())?;
    Ok(async move {
        loop {
            let (name, order) = tokio::select! {
                _ = terminate.recv() => ("SIGTERM", Control::ExitLeavingJobs),
                _ = interrupt.recv() => ("SIGINT", Control::ExitLeavingJobs),
                _ = drain.recv() => ("SIGUSR1", Control::Drain),
            };
            tracing::info!("received {name}");
            // A drain never undoes an exit already ordered.
            orders.send_if_modified(|current| {
                let downgrade = order == Control::Drain && *current != Control::Run;
                if downgrade || *current == order {
                    return false;
                }
                *current = order;
                true
            });
        }
    })
}
