//! Serving a model version (issue 14, "Serve it"): the request, what a
//! deployment looks like to clients, and the pure rules for its command
//! template. The engine runs a deployment as an ordinary job whose
//! assignment carries a [`crate::work::ServeSpec`]; the server proxies
//! `/serve/<model>/<stage>/…` to whichever attempt serves the stage now.

use serde::{Deserialize, Serialize};

use crate::models::Stage;

/// The command a deployment runs when none is given and the model was
/// never served before: MLflow's model server on the unpacked payload.
pub const DEFAULT_SERVE_COMMAND: &str =
    "mlflow models serve -m {model_dir} -p {port} --env-manager local";
/// The path probed until it answers 200 when none is given.
pub const DEFAULT_HEALTH_PATH: &str = "/health";
/// Where the server proxies to serving instances: `/serve/<model>/<stage>/…`.
pub const SERVE_PREFIX: &str = "/serve";
/// Placeholders a serving command may use: `{model_dir}` (the unpacked
/// payload on the host), `{port}` (a free port the agent picked), and the
/// ones every job has.
pub const SERVE_PLACEHOLDERS: [&str; 6] =
    ["model_dir", "port", "config", "run_dir", "run_id", "name"];
/// Longest command template accepted.
pub const MAX_COMMAND_CHARS: usize = 4_000;

/// Body of `POST /api/v1/models/{name}/{stage}/serve`; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServeRequest {
    /// Command template, split like a shell would (quotes, no expansion).
    /// Default: the command this model was last served with, else
    /// [`DEFAULT_SERVE_COMMAND`].
    #[serde(default)]
    pub command: Option<String>,
    /// GPUs for the server process (default 0: a CPU slot).
    #[serde(default)]
    pub gpus: Option<u32>,
    /// Pin to this host (default: placed like any job).
    #[serde(default)]
    pub host: Option<String>,
    /// Default [`DEFAULT_HEALTH_PATH`]; must start with `/`.
    #[serde(default)]
    pub health_path: Option<String>,
}

/// Where a deployment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServingState {
    /// Queued, placed, fetching the bundle, or not answering its health
    /// path yet (also after a lost agent, until the new attempt is healthy).
    Starting,
    /// Its health path answered 200; the proxy forwards to it.
    Serving,
    /// The process ended (`last_lines` has its output) or could not start.
    Failed,
    /// Stopped by a user, or replaced by a newer deployment of the stage.
    Stopped,
}

impl ServingState {
    pub fn as_str(self) -> &'static str {
        match self {
            ServingState::Starting => "starting",
            ServingState::Serving => "serving",
            ServingState::Failed => "failed",
            ServingState::Stopped => "stopped",
        }
    }
}

/// One deployment of a model's stage, as the Models page and the CLI show
/// it (`GET /api/v1/models/{name}` → `serving`, `POST …/serve`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServingView {
    pub id: i64,
    pub model: String,
    pub stage: Stage,
    /// The version resolved from the stage's LATEST when it was started.
    pub version: String,
    pub state: ServingState,
    /// The stable URL path on the server (`/serve/<model>/<stage>/`).
    pub url: String,
    /// The command template as given.
    pub command: String,
    pub health_path: String,
    pub gpus: u32,
    #[serde(default)]
    pub host_pin: Option<String>,
    /// The job that runs it (its live log: `/api/v1/jobs/{job_id}/log`).
    pub job_id: i64,
    /// The job's current attempt (a new one after a lost agent).
    pub attempt: u32,
    /// Where the current attempt runs, once placed.
    #[serde(default)]
    pub host: Option<String>,
    /// `address:port` the proxy forwards to, once healthy.
    #[serde(default)]
    pub endpoint: Option<String>,
    pub created_ms: i64,
    /// When the current attempt first answered its health path.
    #[serde(default)]
    pub healthy_ms: Option<i64>,
    #[serde(default)]
    pub stopped_ms: Option<i64>,
    /// Why it failed or is (re)starting, for a human.
    #[serde(default)]
    pub reason: Option<String>,
    /// The last lines of its output when it failed.
    #[serde(default)]
    pub last_lines: Vec<String>,
}

/// `/serve/<model>/<stage>/`
pub fn serve_url(model: &str, stage: Stage) -> String {
    format!("{SERVE_PREFIX}/{model}/{stage}/")
}

/// Splits a command template into argv like a POSIX shell splits words:
/// blanks separate, `'…'` and `"…"` quote (with `\"` and `\\` inside
/// double quotes), `\` escapes outside quotes. Nothing is expanded. Then
/// checks every `{placeholder}` is one of [`SERVE_PLACEHOLDERS`].
pub fn parse_serve_command(template: &str) -> Result<Vec<String>, String> {
    if template.chars().count() > MAX_COMMAND_CHARS {
        return Err(format!("longer than {MAX_COMMAND_CHARS} characters"));
    }
    let argv = split_words(template)?;
    if argv.is_empty() {
        return Err(
            "empty; give the program to run, e.g. \"python3 serve.py --port {port}\"".into(),
        );
    }
    for arg in &argv {
        let mut rest = arg.as_str();
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else { break };
            let name = &after[..close];
            if !SERVE_PLACEHOLDERS.contains(&name) {
                return Err(format!(
                    "unknown placeholder {{{name}}}; known: {}",
                    SERVE_PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
                ));
            }
            rest = &after[close + 1..];
        }
    }
    Ok(argv)
}

fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(q) => w.push(q),
                        None => return Err("a ' quote is not closed".into()),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e @ ('"' | '\\')) => w.push(e),
                            Some(other) => {
                                w.push('\\');
                                w.push(other);
                            }
                            None => return Err("a \" quote is not closed".into()),
                        },
                        Some(q) => w.push(q),
                        None => return Err("a \" quote is not closed".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(e) => word.get_or_insert_with(String::new).push(e),
                None => return Err("ends with a lone \\".into()),
            },
            other => word.get_or_insert_with(String::new).push(other),
        }
    }
    words.extend(word);
    Ok(words)
}

/// Checks a health path: starts with `/`, printable ASCII, no spaces.
pub fn validate_health_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!("{path:?} must start with /"));
    }
    if path.len() > 1_000 || !path.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "{path:?} must be printable ASCII without spaces, at most 1,000 bytes"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_splits_like_a_shell_and_keeps_placeholders() {
        let argv = parse_serve_command("python3 'my server.py' --model \"{model_dir}\" -p {port}")
            .expect("it parses");
        assert_eq!(
            argv,
            [
                "python3",
                "my server.py",
                "--model",
                "{model_dir}",
                "-p",
                "{port}"
            ]
        );
    }

    #[test]
    fn an_unknown_placeholder_is_named() {
        let err = parse_serve_command("serve --dir {modeldir}").expect_err("refused");
        assert!(err.contains("{modeldir}"), "{err}");
    }

    #[test]
    fn empty_and_unclosed_templates_are_refused() {
        assert!(parse_serve_command("  ").is_err());
        assert!(parse_serve_command("python 'x").is_err());
    }

    #[test]
    fn health_paths_start_with_a_slash() {
        assert!(validate_health_path("/health").is_ok());
        assert!(validate_health_path("health").is_err());
        assert!(validate_health_path("/a b").is_err());
    }
}
