//! The FTP password flags `trainyard serve` (the registry's mirror) and
//! `trainyard model pull --ftp` share: the password comes from a file or an
//! environment variable, never from the command line or the URL, so it is
//! never in `ps`, a shell history, a log or an answer.

use std::path::PathBuf;

use clap::Args;

/// The variable read when neither flag is given.
pub const DEFAULT_PASSWORD_ENV: &str = "TRAINYARD_FTP_PASSWORD";

#[derive(Debug, Clone, Default, Args)]
pub struct FtpPasswordArgs {
    /// The FTP password is in this environment variable (default:
    /// TRAINYARD_FTP_PASSWORD if set; none: anonymous).
    #[arg(long, value_name = "VAR", conflicts_with = "ftp_password_file")]
    pub ftp_password_env: Option<String>,
    /// The FTP password is this file's first line.
    #[arg(long, value_name = "PATH")]
    pub ftp_password_file: Option<PathBuf>,
}

impl FtpPasswordArgs {
    /// The password, or an error naming the flag (never the password).
    pub fn password(&self) -> Result<Option<String>, String> {
        if let Some(path) = &self.ftp_password_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("--ftp-password-file {}: {e}", path.display()))?;
            let line = text.lines().next().unwrap_or("").to_string();
            if line.is_empty() {
                return Err(format!(
                    "--ftp-password-file {}: the file is empty",
                    path.display()
                ));
            }
            return Ok(Some(line));
        }
        if let Some(var) = &self.ftp_password_env {
            return match std::env::var(var) {
                Ok(v) if !v.is_empty() => Ok(Some(v)),
                _ => Err(format!(
                    "--ftp-password-env {var}: the variable is not set (or empty)"
                )),
            };
        }
        Ok(std::env::var(DEFAULT_PASSWORD_ENV)
            .ok()
            .filter(|v| !v.is_empty()))
    }
}
