//! Turns an assignment into the exact program, arguments, working
//! directory and environment of its process. Pure, no IO.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use trainyard_core::work::Assignment;

/// What [`prepare`] hands to the process runner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PreparedCommand {
    pub program: String,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    /// Added to (and overriding) the agent's own environment.
    pub env: Vec<(String, String)>,
}

/// Why an assignment's command cannot be run at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CommandError {
    /// `command` is an empty list.
    Empty,
    /// `workdir` contains a `..` component.
    ParentDir(String),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Empty => write!(f, "the job has an empty command"),
            CommandError::ParentDir(dir) => write!(
                f,
                "workdir {dir:?} contains '..'; give a path without parent-directory steps"
            ),
        }
    }
}

/// Where an attempt's files are, absolute.
pub(crate) struct RunPaths<'a> {
    pub run_dir: &'a Path,
    pub config: &'a Path,
    /// A serving attempt's `{model_dir}` and `{port}`.
    pub serve: Option<&'a super::serving::ServeVars>,
    /// The previous attempt's files, when there are some to resume from.
    pub resume: Option<&'a Path>,
}

/// Where a job's MLflow logging goes: this agent's server, which speaks
/// the MLflow API (docs/tracking.md). An empty `uri` sets no MLflow variables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TrackingEnv {
    pub uri: String,
    pub token: Option<String>,
}

/// Fills `{config}`, `{run_dir}`, `{run_id}` and `{name}` in the argv and
/// builds the environment. A relative `workdir` is taken from `agent_cwd`.
pub(crate) fn prepare(
    assignment: &Assignment,
    paths: &RunPaths<'_>,
    agent_cwd: &Path,
    tracking: &TrackingEnv,
) -> Result<PreparedCommand, CommandError> {
    let run_dir = paths.run_dir.display().to_string();
    let config = paths.config.display().to_string();
    let run_id = assignment.job_id.to_string();
    let model_dir = paths
        .serve
        .map(|s| s.model_dir.display().to_string())
        .unwrap_or_default();
    let port = paths.serve.map(|s| s.port.to_string()).unwrap_or_default();
    let mut vars = vec![
        ("config", config.as_str()),
        ("run_dir", run_dir.as_str()),
        ("run_id", run_id.as_str()),
        ("name", assignment.name.as_str()),
    ];
    if paths.serve.is_some() {
        vars.push(("model_dir", model_dir.as_str()));
        vars.push(("port", port.as_str()));
    }
    let mut argv = assignment.command.iter().map(|arg| fill(arg, &vars));
    let program = argv.next().ok_or(CommandError::Empty)?;
    let cwd = match assignment.workdir.as_deref() {
        Some(dir) => {
            let dir = Path::new(dir);
            if dir.components().any(|c| c == Component::ParentDir) {
                return Err(CommandError::ParentDir(dir.display().to_string()));
            }
            agent_cwd.join(dir)
        }
        None => agent_cwd.to_path_buf(),
    };
    let gpus: Vec<String> = assignment.gpu_indices.iter().map(u32::to_string).collect();
    let env = [
        ("TRAINYARD_CONFIG", config.clone()),
        ("TRAINYARD_RUN_ID", run_id.clone()),
        ("TRAINYARD_RUN_DIR", run_dir.clone()),
        ("TRAINYARD_JOB_NAME", assignment.name.clone()),
        ("TRAINYARD_ATTEMPT", assignment.attempt.to_string()),
        // Empty, not unset: an unset variable would expose every GPU.
        ("CUDA_VISIBLE_DEVICES", gpus.join(",")),
        // How many GPUs the job got (a DDP script's world size on one host).
        ("TRAINYARD_GPUS", gpus.len().to_string()),
        ("PYTHONUNBUFFERED", "1".to_string()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_string(), value))
    .collect::<Vec<_>>();
    let mut env = env;
    if let Some(dir) = paths.resume {
        env.push(("TRAINYARD_RESUME_DIR".into(), dir.display().to_string()));
    }
    if paths.serve.is_some() {
        env.push(("TRAINYARD_MODEL_DIR".into(), model_dir.clone()));
        env.push(("TRAINYARD_SERVE_PORT".into(), port.clone()));
    }
    if !tracking.uri.is_empty() {
        // An MLflow-instrumented script logs into this job's own run: the
        // run id is the job id, the experiment its project.
        env.push(("MLFLOW_TRACKING_URI".into(), tracking.uri.clone()));
        env.push(("MLFLOW_EXPERIMENT_NAME".into(), assignment.project.clone()));
        env.push(("MLFLOW_RUN_ID".into(), run_id.clone()));
        if let Some(token) = tracking.token.as_ref().filter(|t| !t.trim().is_empty()) {
            env.push(("MLFLOW_TRACKING_TOKEN".into(), token.clone()));
        }
    }
    Ok(PreparedCommand {
        program,
        args: argv.collect(),
        cwd,
        env,
    })
}

/// Replaces each `{key}` of `vars` in one pass, so a value that itself
/// contains `{name}` is not expanded again. Unknown `{…}` stay as written.
fn fill(arg: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(arg.len());
    let mut rest = arg;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let known = vars
            .iter()
            .find(|(key, _)| after.starts_with(key) && after[key.len()..].starts_with('}'));
        match known {
            Some((key, value)) => {
                out.push_str(value);
                rest = &after[key.len() + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assignment(command: &[&str], workdir: Option<&str>, gpus: Vec<u32>) -> Assignment {
        Assignment {
            job_id: 12,
            attempt: 2,
            project: "vision".into(),
            name: "lr-{name}".into(),
            command: command.iter().map(|s| s.to_string()).collect(),
            workdir: workdir.map(str::to_string),
            config_yaml: "lr: 0.1\n".into(),
            gpu_indices: gpus,
            timeout_secs: None,
            lease_ms: 60_000,
            fence: true,
            serve: None,
            resume: false,
        }
    }

    fn paths() -> RunPaths<'static> {
        RunPaths {
            run_dir: Path::new("/w/runs/12-2"),
            config: Path::new("/w/runs/12-2/config.yaml"),
            serve: None,
            resume: None,
        }
    }

    fn none() -> TrackingEnv {
        TrackingEnv::default()
    }

    #[test]
    fn mlflow_scripts_log_into_the_jobs_own_run() {
        let tracking = TrackingEnv {
            uri: "http://10.0.0.5:3000".into(),
            token: Some("k3y".into()),
        };
        let Ok(command) = prepare(
            &assignment(&["x"], None, vec![]),
            &paths(),
            Path::new("/"),
            &tracking,
        ) else {
            panic!("prepare failed");
        };
        assert_eq!(
            env_of(&command, "MLFLOW_TRACKING_URI"),
            Some("http://10.0.0.5:3000")
        );
        assert_eq!(env_of(&command, "MLFLOW_TRACKING_TOKEN"), Some("k3y"));
        assert_eq!(env_of(&command, "MLFLOW_EXPERIMENT_NAME"), Some("vision"));
        assert_eq!(env_of(&command, "MLFLOW_RUN_ID"), Some("12"));
        let Ok(plain) = prepare(
            &assignment(&["x"], None, vec![]),
            &paths(),
            Path::new("/"),
            &none(),
        ) else {
            panic!("prepare failed");
        };
        assert_eq!(env_of(&plain, "MLFLOW_TRACKING_URI"), None);
    }

    fn env_of<'a>(command: &'a PreparedCommand, key: &str) -> Option<&'a str> {
        command
            .env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn placeholders_are_filled_once_anywhere_in_an_argument() {
        let job = assignment(
            &[
                "python",
                "train.py",
                "--config={config}",
                "{run_dir}/out",
                "{run_id}",
                "{name}",
                "{other}",
            ],
            None,
            vec![0],
        );
        let Ok(command) = prepare(&job, &paths(), Path::new("/home/lab"), &none()) else {
            panic!("valid command refused");
        };
        assert_eq!(command.program, "python");
        assert_eq!(
            command.args,
            [
                "train.py",
                "--config=/w/runs/12-2/config.yaml",
                "/w/runs/12-2/out",
                "12",
                "lr-{name}",
                "{other}"
            ]
        );
        assert_eq!(command.cwd, Path::new("/home/lab"));
    }

    #[test]
    fn the_environment_names_config_run_attempt_and_gpus() {
        let Ok(command) = prepare(
            &assignment(&["x"], None, vec![1, 3]),
            &paths(),
            Path::new("/"),
            &none(),
        ) else {
            panic!("valid command refused");
        };
        assert_eq!(env_of(&command, "CUDA_VISIBLE_DEVICES"), Some("1,3"));
        assert_eq!(env_of(&command, "TRAINYARD_GPUS"), Some("2"));
        assert_eq!(
            env_of(&command, "TRAINYARD_CONFIG"),
            Some("/w/runs/12-2/config.yaml")
        );
        assert_eq!(env_of(&command, "TRAINYARD_RUN_ID"), Some("12"));
        assert_eq!(env_of(&command, "TRAINYARD_ATTEMPT"), Some("2"));
        assert_eq!(env_of(&command, "PYTHONUNBUFFERED"), Some("1"));

        let Ok(cpu) = prepare(
            &assignment(&["x"], None, vec![]),
            &paths(),
            Path::new("/"),
            &none(),
        ) else {
            panic!("valid command refused");
        };
        assert_eq!(env_of(&cpu, "CUDA_VISIBLE_DEVICES"), Some(""));
        assert_eq!(env_of(&cpu, "TRAINYARD_GPUS"), Some("0"));
    }

    #[test]
    fn workdirs_are_relative_to_the_agent_and_may_not_climb_out() {
        let cwd = Path::new("/home/lab");
        let relative = prepare(
            &assignment(&["x"], Some("code/exp"), vec![]),
            &paths(),
            cwd,
            &none(),
        );
        assert_eq!(
            relative.map(|c| c.cwd),
            Ok(PathBuf::from("/home/lab/code/exp"))
        );
        let absolute = prepare(
            &assignment(&["x"], Some("/srv/exp"), vec![]),
            &paths(),
            cwd,
            &none(),
        );
        assert_eq!(absolute.map(|c| c.cwd), Ok(PathBuf::from("/srv/exp")));
        let climbing = prepare(
            &assignment(&["x"], Some("code/../../etc"), vec![]),
            &paths(),
            cwd,
            &none(),
        );
        assert!(matches!(climbing, Err(CommandError::ParentDir(_))));
        assert_eq!(
            prepare(&assignment(&[], None, vec![]), &paths(), cwd, &none()),
            Err(CommandError::Empty)
        );
    }
}
