//! `launcher:`: how a multi-GPU job's processes are started. The job's own
//! command stays as written; the launcher's argv is put in front of it.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A launcher a config may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Launcher {
    /// PyTorch's `torchrun`: one process per GPU on the host, with `RANK`,
    /// `LOCAL_RANK` and `WORLD_SIZE` set, so a DistributedDataParallel
    /// script needs no wrapper.
    Torchrun,
}

impl FromStr for Launcher {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "torchrun" => Ok(Launcher::Torchrun),
            other => Err(format!(
                "launcher {other:?} is not one Trainyard knows; the launchers are: torchrun"
            )),
        }
    }
}

impl fmt::Display for Launcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Launcher::Torchrun => "torchrun",
        })
    }
}

impl Launcher {
    /// `command` started by this launcher with `processes` workers.
    ///
    /// torchrun: `--standalone` (a single-host rendezvous on a port the OS
    /// picks, so two jobs on one host never collide) and `--no-python`, so
    /// the command runs exactly as written, interpreter included, once per
    /// worker.
    pub fn wrap(self, command: &[String], processes: u32) -> Vec<String> {
        match self {
            Launcher::Torchrun => {
                let mut argv = vec![
                    "torchrun".to_string(),
                    "--standalone".to_string(),
                    format!("--nproc_per_node={processes}"),
                    "--no-python".to_string(),
                ];
                argv.extend(command.iter().cloned());
                argv
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torchrun_keeps_the_command_as_written_after_its_own_flags() {
        let command = ["python", "train.py", "--config", "{config}"].map(String::from);
        assert_eq!(
            Launcher::Torchrun.wrap(&command, 4),
            [
                "torchrun",
                "--standalone",
                "--nproc_per_node=4",
                "--no-python",
                "python",
                "train.py",
                "--config",
                "{config}"
            ]
        );
    }

    #[test]
    fn only_known_launchers_parse() {
        assert_eq!("torchrun".parse(), Ok(Launcher::Torchrun));
        let err = "deepspeed".parse::<Launcher>().err().unwrap_or_default();
        assert!(
            err.contains("deepspeed") && err.contains("torchrun"),
            "{err}"
        );
        assert_eq!(Launcher::Torchrun.to_string(), "torchrun");
    }
}
