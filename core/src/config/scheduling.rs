//! The reserved top-level keys: what the scheduler reads from a config.

use super::command;
use super::distributed::Launcher;
use super::error::ConfigError;
use super::names::component_problem;
use super::tree::{Entry, Kind, Node, Style};
use crate::components::SyncStrategy;
use crate::ids::validate_host_id;
use crate::job::Priority;
use serde::{Deserialize, Serialize};

/// Top-level keys the scheduler reads; lists under them are never grid axes.
pub const RESERVED_KEYS: [&str; 14] = [
    "project", "name", "run_name", "command", "workdir", "gpus", "priority", "host", "retries",
    "timeout", "sync", "code", "device", "launcher",
];

/// Most `code:` globs one config may list.
pub const MAX_CODE_GLOBS: usize = 64;

/// What the scheduler needs from a config, read from the reserved keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scheduling {
    pub project: Option<String>,
    /// `name` (or `run_name`) as written, `{{key}}` placeholders and all.
    pub name_template: Option<String>,
    /// argv; `None` means the server's `--default-command`.
    pub command: Option<Vec<String>>,
    pub workdir: Option<String>,
    /// GPUs per run; 0 runs in a CPU slot.
    pub gpus: u32,
    pub priority: Option<Priority>,
    /// Pin to one host.
    pub host: Option<String>,
    pub retries: u32,
    pub timeout_secs: Option<u64>,
    /// `sync:`: how the worker's component copies are reconciled; `None`
    /// leaves it to the agent's `--sync-strategy`.
    #[serde(default)]
    pub sync: Option<SyncStrategy>,
    /// `code:`: globs relative to the working directory whose files join the
    /// job's manifest (`[train.py, models/**/*.py]`).
    #[serde(default)]
    pub code: Vec<String>,
    /// `device: [0, 1, 2, 3]` (the multi-GPU tutorial's form): as many GPUs
    /// as listed, and exactly these indices when the job is pinned to a
    /// host. Empty when not given (a scalar `device:` is left to the script).
    #[serde(default)]
    pub device: Vec<u32>,
    /// `launcher: torchrun`: the command is started under that launcher with
    /// one process per GPU.
    #[serde(default)]
    pub launcher: Option<Launcher>,
}

impl Default for Scheduling {
    fn default() -> Self {
        Scheduling {
            project: None,
            name_template: None,
            command: None,
            workdir: None,
            gpus: 1,
            priority: None,
            host: None,
            retries: 0,
            timeout_secs: None,
            sync: None,
            code: Vec::new(),
            device: Vec::new(),
            launcher: None,
        }
    }
}

/// Reads the reserved keys; problems are pushed onto `errors`.
pub(crate) fn read(entries: &[Entry], errors: &mut Vec<ConfigError>) -> Scheduling {
    let mut s = Scheduling::default();
    let mut gpus_given = false;
    for e in entries {
        let key = e.key.text.as_str();
        let v = &e.value;
        let fail = |msg: String| ConfigError::at(msg, Some(key), v.pos);
        let result: Result<(), ConfigError> = (|| {
            match key {
                "project" => {
                    if let Some(p) = text(v, key)? {
                        if let Some(problem) = component_problem(&p) {
                            return Err(fail(format!("project {p:?} {problem}")));
                        }
                        s.project = Some(p);
                    }
                }
                "name" | "run_name" => {
                    if s.name_template.is_some() {
                        return Err(ConfigError::at(
                            "give either `name` or `run_name`, not both",
                            Some(key),
                            e.key_pos,
                        ));
                    }
                    s.name_template = text(v, key)?;
                }
                "command" => s.command = command_argv(v, key)?,
                "workdir" => {
                    if let Some(w) = text(v, key)? {
                        if let Some(problem) = workdir_problem(&w) {
                            return Err(fail(format!("workdir {w:?} {problem}")));
                        }
                        s.workdir = Some(w);
                    }
                }
                "gpus" => {
                    s.gpus = whole(v, key, "a GPU count such as `gpus: 1` (0 runs on CPU)")?;
                    gpus_given = true;
                }
                "device" => s.device = device_indices(v, key)?,
                "launcher" => {
                    if let Some(t) = text(v, key)? {
                        s.launcher = Some(t.parse::<Launcher>().map_err(fail)?);
                    }
                }
                "retries" => s.retries = whole(v, key, "a retry count such as `retries: 2`")?,
                "priority" => {
                    if let Some(p) = text(v, key)? {
                        s.priority = Some(p.parse::<Priority>().map_err(fail)?);
                    }
                }
                "host" => {
                    if let Some(h) = text(v, key)? {
                        validate_host_id(&h)
                            .map_err(|err| fail(err.to_string().replacen("host_id", "host", 1)))?;
                        s.host = Some(h);
                    }
                }
                "timeout" => {
                    if let Some(t) = text(v, key)? {
                        s.timeout_secs = Some(parse_duration(&t).map_err(fail)?);
                    }
                }
                "sync" => {
                    if let Some(t) = text(v, key)? {
                        s.sync = Some(t.parse::<SyncStrategy>().map_err(fail)?);
                    }
                }
                "code" => s.code = code_globs(v, key)?,
                _ => {}
            }
            Ok(())
        })();
        if let Err(err) = result {
            errors.push(err);
        }
    }
    reconcile_gpus(&mut s, gpus_given, entries, errors);
    s
}

/// `device:` sets the GPU count unless `gpus:` says otherwise, in which
/// case the two must agree; a launcher needs at least one GPU to start a
/// process on.
fn reconcile_gpus(
    s: &mut Scheduling,
    gpus_given: bool,
    entries: &[Entry],
    errors: &mut Vec<ConfigError>,
) {
    let at = |key: &str| {
        entries
            .iter()
            .find(|e| e.key.text == key)
            .map(|e| e.value.pos)
            .unwrap_or_default()
    };
    if !s.device.is_empty() {
        let listed = u32::try_from(s.device.len()).unwrap_or(u32::MAX);
        if gpus_given && s.gpus != listed {
            errors.push(ConfigError::at(
                format!(
                    "lists {listed} GPU(s) but `gpus: {}` asks for {}; give one of them, or make them agree",
                    s.gpus, s.gpus
                ),
                Some("device"),
                at("device"),
            ));
        }
        s.gpus = listed;
    }
    if let Some(launcher) = s.launcher {
        if s.gpus == 0 {
            errors.push(ConfigError::at(
                format!("`launcher: {launcher}` starts one process per GPU, but the job asks for none; set `gpus:` to 1 or more"),
                Some("launcher"),
                at("launcher"),
            ));
        }
    }
}

/// `device: [0, 1]`: distinct GPU indices. A scalar (`device: cuda`) is the
/// script's business and gives no indices.
fn device_indices(v: &Node, key: &str) -> Result<Vec<u32>, ConfigError> {
    let Kind::Seq(items) = &v.kind else {
        return Ok(Vec::new());
    };
    if items.is_empty() {
        return Err(ConfigError::at(
            "lists no GPU; list GPU indices such as `device: [0, 1]`, or use `gpus: 0` for a CPU job",
            Some(key),
            v.pos,
        ));
    }
    let mut indices = Vec::with_capacity(items.len());
    for item in items {
        let index = whole(
            item,
            key,
            "a list of GPU indices such as `device: [0, 1, 2, 3]`",
        )?;
        if indices.contains(&index) {
            return Err(ConfigError::at(
                format!("lists GPU {index} twice"),
                Some(key),
                item.pos,
            ));
        }
        indices.push(index);
    }
    Ok(indices)
}

fn is_null(v: &Node) -> bool {
    matches!(&v.kind, Kind::Scalar(s) if s.is_null())
}

/// A scalar's text; `None` for null; an error for a list or mapping.
fn text(v: &Node, key: &str) -> Result<Option<String>, ConfigError> {
    match &v.kind {
        _ if is_null(v) => Ok(None),
        Kind::Scalar(s) => Ok(Some(s.text.clone())),
        _ => Err(ConfigError::at(
            format!("`{key}` takes a single value, not a list or mapping (scheduler keys are not grid axes)"),
            Some(key),
            v.pos,
        )),
    }
}

fn whole(v: &Node, key: &str, example: &str) -> Result<u32, ConfigError> {
    let bad = || {
        ConfigError::at(
            format!("must be a whole number ≥ 0: {example}"),
            Some(key),
            v.pos,
        )
    };
    match &v.kind {
        Kind::Scalar(s) if s.style == Style::Plain => {
            let t = s.text.strip_prefix('+').unwrap_or(&s.text);
            if t.is_empty() || !t.chars().all(|c| c.is_ascii_digit()) {
                return Err(bad());
            }
            t.parse()
                .map_err(|_| ConfigError::at(format!("{t} is too large"), Some(key), v.pos))
        }
        _ => Err(bad()),
    }
}

fn command_argv(v: &Node, key: &str) -> Result<Option<Vec<String>>, ConfigError> {
    let fail = |msg: &str| ConfigError::at(msg, Some(key), v.pos);
    let argv =
        match &v.kind {
            _ if is_null(v) => return Ok(None),
            Kind::Scalar(s) => command::split_command(&s.text).map_err(|e| fail(&e.0))?,
            Kind::Seq(items) => {
                let mut argv = Vec::with_capacity(items.len());
                for item in items {
                    match &item.kind {
                        Kind::Scalar(s) => argv.push(s.text.clone()),
                        _ => return Err(ConfigError::at(
                            "each command argument must be a single value, not a list or mapping",
                            Some(key),
                            item.pos,
                        )),
                    }
                }
                argv
            }
            Kind::Map(_) => return Err(fail("must be a string or a list of strings")),
        };
    if argv.first().is_none_or(String::is_empty) {
        return Err(fail(
            "is empty; give a program, e.g. `command: python train.py --config {config}`",
        ));
    }
    Ok(Some(argv))
}

/// `code: train.py` or `code: [train.py, models/**/*.py]`: relative globs
/// that cannot climb out of the working directory.
fn code_globs(v: &Node, key: &str) -> Result<Vec<String>, ConfigError> {
    let items: Vec<&Node> = match &v.kind {
        _ if is_null(v) => return Ok(Vec::new()),
        Kind::Scalar(_) => vec![v],
        Kind::Seq(items) => items.iter().collect(),
        Kind::Map(_) => {
            return Err(ConfigError::at(
                "must be a glob or a list of globs, e.g. `code: [train.py, models/**/*.py]`",
                Some(key),
                v.pos,
            ))
        }
    };
    if items.len() > MAX_CODE_GLOBS {
        return Err(ConfigError::at(
            format!("lists {} globs; at most {MAX_CODE_GLOBS}", items.len()),
            Some(key),
            v.pos,
        ));
    }
    let mut globs = Vec::with_capacity(items.len());
    for item in items {
        let Kind::Scalar(s) = &item.kind else {
            return Err(ConfigError::at(
                "each glob must be a single string",
                Some(key),
                item.pos,
            ));
        };
        let glob = s.text.trim();
        let problem = if glob.is_empty() {
            Some("is empty")
        } else if glob.starts_with('/') || glob.starts_with('\\') || glob.contains(':') {
            Some("must be relative to the working directory")
        } else if glob.split(['/', '\\']).any(|part| part == "..") {
            Some("must not contain `..` components")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(ConfigError::at(
                format!("glob {glob:?} {problem}"),
                Some(key),
                item.pos,
            ));
        }
        globs.push(glob.to_string());
    }
    Ok(globs)
}

fn workdir_problem(w: &str) -> Option<&'static str> {
    if w.is_empty() {
        return Some("is empty");
    }
    if w.chars().any(char::is_control) {
        return Some("must not contain control characters");
    }
    if w.split(['/', '\\']).any(|part| part == "..") {
        return Some("must not contain `..` components");
    }
    None
}

/// `3600`, `90s`, `30m`, `2h`, `1d`, or combinations such as `1h30m`.
pub(crate) fn parse_duration(t: &str) -> Result<u64, String> {
    let bad = || {
        format!("{t:?} is not a duration; write seconds (3600) or e.g. \"90s\", \"30m\", \"2h\", \"1h30m\"")
    };
    let t = t.trim();
    if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()) {
        let secs: u64 = t.parse().map_err(|_| bad())?;
        return if secs == 0 {
            Err("timeout must be greater than 0".into())
        } else {
            Ok(secs)
        };
    }
    let mut total: u64 = 0;
    let mut num = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let n: u64 = num.parse().map_err(|_| bad())?;
        num.clear();
        total = n
            .checked_mul(unit)
            .and_then(|x| x.checked_add(total))
            .ok_or_else(bad)?;
    }
    if !num.is_empty() || t.is_empty() {
        return Err(bad());
    }
    if total == 0 {
        return Err("timeout must be greater than 0".into());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_seconds_and_units() {
        assert_eq!(parse_duration("3600"), Ok(3600));
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("30m"), Ok(1800));
        assert_eq!(parse_duration("2h"), Ok(7200));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
        for bad in ["", "h", "2x", "1.5h", "0", "0s", "99999999999999999999"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn workdirs_may_not_climb() {
        assert_eq!(workdir_problem("exp/run"), None);
        assert_eq!(workdir_problem("/abs/path"), None);
        assert!(workdir_problem("a/../b").is_some());
        assert!(workdir_problem("..").is_some());
        assert!(workdir_problem("a\u{7}").is_some());
    }
}
