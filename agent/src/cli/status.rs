//! `--status`: what the agent on a work dir is doing, from its lock and
//! its status file.

use std::path::Path;
use std::process::ExitCode;

use trainyard_agent::status::{self, AgentStatus, Link, ServerStatus};
use trainyard_agent::workdir_lock;

/// Exit code when no agent runs there (as LSB init scripts' `status`).
const NOT_RUNNING: u8 = 3;

/// Prints the status; exit 0 while an agent runs, 3 when none does, 1
/// when the work dir cannot be read.
pub fn print(work_dir: &Path, json: bool) -> ExitCode {
    let shown = std::path::absolute(work_dir).unwrap_or_else(|_| work_dir.to_path_buf());
    let pid = match workdir_lock::holder(work_dir) {
        Ok(Some(pid)) => pid,
        Ok(None) => {
            eprintln!(
                "no trainyard-agent is running on work dir {}",
                shown.display()
            );
            return ExitCode::from(NOT_RUNNING);
        }
        Err(e) => {
            eprintln!(
                "error: cannot read the agent's lock in {}: {e}",
                shown.display()
            );
            return ExitCode::FAILURE;
        }
    };
    let status = match status::read(work_dir) {
        Ok(status) if i64::from(status.pid) == i64::from(pid) => status,
        _ => {
            println!(
                "trainyard-agent pid {pid} runs on work dir {} but has not written its \
                 status yet (starting up?)",
                shown.display()
            );
            return ExitCode::SUCCESS;
        }
    };
    if json {
        match serde_json::to_string_pretty(&status) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("error: cannot print the status: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", describe(&status, now_ms()));
        let log = work_dir.join(crate::cli::daemon::LOG_FILE);
        if log.exists() {
            println!(
                "log: {}",
                shown.join(crate::cli::daemon::LOG_FILE).display()
            );
        }
    }
    ExitCode::SUCCESS
}

/// The human-readable status.
pub fn describe(status: &AgentStatus, now_ms: u64) -> String {
    let mut text = format!(
        "trainyard-agent {} running as pid {} on work dir {} (host id {})\n",
        status.version,
        status.pid,
        status.work_dir.display(),
        status.host_id
    );
    text += &format!(
        "uptime: {}\n",
        span(now_ms.saturating_sub(status.started_ms))
    );
    for server in &status.servers {
        text += &format!("server {}: {}\n", server.url, link(server, now_ms));
    }
    let stale = now_ms.saturating_sub(status.updated_ms);
    if stale > 30_000 {
        text += &format!(
            "(status last written {} ago: is the agent stuck?)\n",
            span(stale)
        );
    }
    if status.draining {
        text += &format!(
            "draining: takes no new work, exits once its {} job(s) are done\n",
            status.jobs.len()
        );
    }
    if status.jobs.is_empty() {
        text += "jobs: none\n";
    } else {
        text += &format!("jobs: {}\n", status.jobs.len());
    }
    for job in &status.jobs {
        let gpus = match job.gpus.as_slice() {
            [] => "no GPU".to_string(),
            gpus => {
                let list: Vec<String> = gpus.iter().map(u32::to_string).collect();
                format!("GPU {}", list.join(", "))
            }
        };
        let state = if job.process_running {
            "running"
        } else {
            "ended, reporting to the server"
        };
        // Job ids are per server: with several, say whose it is.
        let whose = match (&job.server, status.servers.len()) {
            (Some(url), 2..) => format!(" of {url}"),
            _ => String::new(),
        };
        text += &format!(
            "  job {} attempt {}{whose}: {state} ({gpus})\n",
            job.job_id, job.attempt
        );
    }
    text
}

fn link(server: &ServerStatus, now_ms: u64) -> String {
    let contact = server
        .last_contact_ms
        .map(|at| format!("last contact {} ago", span(now_ms.saturating_sub(at))));
    let error = server.error.as_deref().unwrap_or("no answer");
    match (server.link, contact) {
        (Link::Starting, _) => "connecting".into(),
        (Link::Connected, Some(contact)) => format!("connected, {contact}"),
        (Link::Connected, None) => "connected".into(),
        (Link::Unreachable, Some(contact)) => format!("unreachable ({error}), {contact}"),
        (Link::Unreachable, None) => format!("unreachable ({error}), never reached"),
        (Link::Refused, _) => format!("refuses the heartbeats: {error}"),
    }
}

/// "4 s", "3 min 20 s", "2 h 5 min", "3 d 4 h".
fn span(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        3600..86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use trainyard_agent::status::JobStatus;

    #[test]
    fn spans_read_like_a_person_would_say_them() {
        assert_eq!(span(4_500), "4 s");
        assert_eq!(span(200_000), "3 min 20 s");
        assert_eq!(span(7_500_000), "2 h 5 min");
        assert_eq!(span(273_600_000), "3 d 4 h");
    }

    #[test]
    fn the_summary_names_pid_uptime_server_link_and_jobs() {
        let status = AgentStatus {
            pid: 77,
            version: "1.2.3".into(),
            host_id: "gpu-a".into(),
            work_dir: "/w".into(),
            started_ms: 1_000,
            updated_ms: 60_000,
            draining: true,
            servers: vec![ServerStatus {
                url: "http://s:3000".into(),
                link: Link::Unreachable,
                last_contact_ms: Some(50_000),
                error: Some("connection refused".into()),
            }],
            jobs: vec![
                JobStatus {
                    job_id: 12,
                    attempt: 1,
                    gpus: vec![0, 1],
                    process_running: true,
                    server: Some("http://s:3000".into()),
                },
                JobStatus {
                    job_id: 13,
                    attempt: 2,
                    gpus: vec![],
                    process_running: false,
                    server: None,
                },
            ],
        };
        let text = describe(&status, 61_000);
        for expected in [
            "running as pid 77 on work dir /w (host id gpu-a)",
            "uptime: 1 min 0 s",
            "server http://s:3000: unreachable (connection refused), last contact 11 s ago",
            "draining: takes no new work, exits once its 2 job(s) are done",
            "job 12 attempt 1: running (GPU 0, 1)",
            "job 13 attempt 2: ended, reporting to the server (no GPU)",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from:\n{text}"
            );
        }
    }

    #[test]
    fn with_several_servers_each_link_and_each_jobs_server_is_named() {
        let server = |url: &str, link: Link| ServerStatus {
            url: url.into(),
            link,
            last_contact_ms: Some(59_000),
            error: Some("connection refused".into()),
        };
        let job = |server: &str| JobStatus {
            job_id: 12,
            attempt: 1,
            gpus: vec![0],
            process_running: true,
            server: Some(server.into()),
        };
        let status = AgentStatus {
            pid: 77,
            version: "1.2.3".into(),
            host_id: "gpu-a".into(),
            work_dir: "/w".into(),
            started_ms: 1_000,
            updated_ms: 60_000,
            draining: false,
            servers: vec![
                server("http://a:3000", Link::Connected),
                server("http://b:3000", Link::Unreachable),
            ],
            jobs: vec![job("http://a:3000"), job("http://b:3000")],
        };
        let text = describe(&status, 60_000);
        for expected in [
            "server http://a:3000: connected, last contact 1 s ago",
            "server http://b:3000: unreachable (connection refused), last contact 1 s ago",
            "job 12 attempt 1 of http://a:3000: running (GPU 0)",
            "job 12 attempt 1 of http://b:3000: running (GPU 0)",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from:\n{text}"
            );
        }
    }
}
