//! A server and agents that can be killed like `kill -9`: each runs on its
//! own tokio runtime, dropped without any shutdown code running. Processes
//! the agent started keep running, as they would.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::runtime::Runtime;
use trainyard_server::ServeSettings;

use crate::harness::{eventually, KEY};

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"))
}

pub struct KillableServer {
    pub addr: SocketAddr,
    runtime: Option<Runtime>,
}

impl KillableServer {
    /// Starts on `config.addr`, retrying the bind while a killed
    /// predecessor's socket is still closing.
    pub async fn start(config: ServeSettings) -> KillableServer {
        let rt = runtime();
        let addr = config.addr;
        let bound = rt
            .spawn(async move {
                let deadline = std::time::Instant::now() + Duration::from_secs(10);
                loop {
                    match tokio::net::TcpListener::bind(addr).await {
                        Ok(listener) => return listener,
                        Err(e) if std::time::Instant::now() < deadline => {
                            let _ = e;
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        Err(e) => panic!("bind {addr}: {e}"),
                    }
                }
            })
            .await
            .expect("spawn");
        let addr = bound.local_addr().expect("local addr");
        rt.spawn(trainyard_server::serve(
            bound,
            config,
            std::future::pending(),
        ));
        let client = reqwest::Client::new();
        eventually("server answers", || async {
            client
                .get(format!("http://{addr}/api/v1/health"))
                .bearer_auth(KEY)
                .send()
                .await
                .is_ok()
        })
        .await;
        KillableServer {
            addr,
            runtime: Some(rt),
        }
    }

    /// Stops everything at once: no flush, no goodbye.
    pub fn kill(mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for KillableServer {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

pub struct KillableAgent {
    runtime: Option<Runtime>,
}

impl KillableAgent {
    pub fn start(config: trainyard_agent::AgentSettings) -> KillableAgent {
        let rt = runtime();
        rt.spawn(trainyard_agent::run(config, std::future::pending()));
        KillableAgent { runtime: Some(rt) }
    }

    pub fn kill(mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for KillableAgent {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}
