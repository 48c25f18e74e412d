//! A small blocking FTP client over `suppaftp` (run it on `spawn_blocking`):
//! passive mode, binary type, timeouts on both connections, every remote
//! path built from checked components, every error message stripped of the
//! password. The mirror uploads with it; `trainyard model pull --ftp`
//! downloads with it.

use std::collections::HashSet;
use std::fmt;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;

use suppaftp::types::FileType;
use suppaftp::{FtpError, FtpStream, Mode, Status};
use trainyard_core::models::validate_ftp_segment;

/// How long a connect, a read or a write may take on either connection.
pub const FTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Suffix of a file being uploaded; renamed to its name once complete.
const UPLOADING: &str = ".trainyard-upload";

/// Where a registry is mirrored or pulled from: `ftp://user@host:port/root`
/// and a password that is never shown (`Debug` and [`FtpTarget::url`] omit it).
#[derive(Clone, PartialEq, Eq)]
pub struct FtpTarget {
    pub host: String,
    pub port: u16,
    pub user: String,
    password: String,
    /// The root's components, relative to the login directory.
    pub root: Vec<String>,
}

impl fmt::Debug for FtpTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FtpTarget({})", self.url())
    }
}

impl FtpTarget {
    /// Parses `ftp://[user@]host[:port][/root/…]` (user `anonymous` and port
    /// 21 by default). A password inside the URL is refused, without
    /// repeating it: it belongs in a variable or a file, so that the URL
    /// can be shown.
    pub fn parse(url: &str, password: Option<String>) -> Result<FtpTarget, String> {
        let Some(rest) = url.strip_prefix("ftp://") else {
            return Err("must start with ftp:// (ftp://user@host:port/root)".into());
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        let (user, host_port) = match authority.rfind('@') {
            Some(i) => (&authority[..i], &authority[i + 1..]),
            None => ("anonymous", authority),
        };
        if user.contains(':') {
            return Err(
                "the URL holds a password: give it with --ftp-password-env or \
                        --ftp-password-file (or TRAINYARD_FTP_PASSWORD) instead"
                    .into(),
            );
        }
        if user.is_empty()
            || !user
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-+".contains(c))
        {
            return Err(format!(
                "user {:?}: letters, digits and . _ - + only",
                user.chars().take(64).collect::<String>()
            ));
        }
        let (host, port) = match host_port.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("port {p:?}: not a port number"))?,
            ),
            None => (host_port, 21),
        };
        if host.is_empty()
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
        {
            return Err(format!(
                "host {:?}: a host name or IPv4 address",
                host.chars().take(100).collect::<String>()
            ));
        }
        let mut root = Vec::new();
        for part in path.split('/').filter(|p| !p.is_empty()) {
            validate_ftp_segment(part).map_err(|e| format!("root: {e}"))?;
            if part.contains('%') {
                return Err(format!("root: {part:?}: percent-escapes are not supported"));
            }
            root.push(part.to_string());
        }
        Ok(FtpTarget {
            host: host.to_string(),
            port,
            user: user.to_string(),
            password: password.unwrap_or_default(),
            root,
        })
    }

    /// `ftp://user@host:port/root`, never the password.
    pub fn url(&self) -> String {
        format!(
            "ftp://{}@{}:{}/{}",
            self.user,
            self.host,
            self.port,
            self.root.join("/")
        )
    }

    /// `text` with the password (if any) replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        if self.password.len() < 2 {
            return text.to_string();
        }
        text.replace(&self.password, "***")
    }

    /// `root/<parts…>`, each part checked (no `..`, `/`, control characters).
    pub fn path(&self, parts: &[&str]) -> Result<String, String> {
        let mut all: Vec<&str> = self.root.iter().map(String::as_str).collect();
        for part in parts {
            validate_ftp_segment(part)?;
            all.push(part);
        }
        Ok(all.join("/"))
    }
}

/// One logged-in connection.
pub struct FtpSession {
    stream: FtpStream,
    target: FtpTarget,
    /// Directories made (or found) this session.
    made: HashSet<String>,
}

/// Connects to `addr` with the timeouts on the stream.
fn connect_stream(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, FTP_TIMEOUT)?;
    stream.set_read_timeout(Some(FTP_TIMEOUT))?;
    stream.set_write_timeout(Some(FTP_TIMEOUT))?;
    Ok(stream)
}

impl FtpSession {
    /// Connects, logs in, and switches to passive mode and binary type.
    pub fn connect(target: &FtpTarget) -> Result<FtpSession, String> {
        let place = format!("{}:{}", target.host, target.port);
        let addr = (target.host.as_str(), target.port)
            .to_socket_addrs()
            .map_err(|e| format!("{place}: {e}"))?
            .next()
            .ok_or_else(|| format!("{place}: no address"))?;
        let tcp = connect_stream(addr).map_err(|e| format!("connect to {place}: {e}"))?;
        let mut stream = FtpStream::connect_with_stream(tcp)
            .map_err(|e| format!("connect to {place}: {}", target.redact(&e.to_string())))?
            .passive_stream_builder(|addr| connect_stream(addr).map_err(FtpError::ConnectionError));
        stream.set_mode(Mode::Passive);
        // A server behind NAT announces its private address: use the
        // control connection's instead.
        stream.set_passive_nat_workaround(true);
        stream
            .login(target.user.as_str(), target.password.as_str())
            .map_err(|e| {
                format!(
                    "log in to {place} as {}: {}",
                    target.user,
                    target.redact(&e.to_string())
                )
            })?;
        stream
            .transfer_type(FileType::Binary)
            .map_err(|e| format!("TYPE I on {place}: {}", target.redact(&e.to_string())))?;
        Ok(FtpSession {
            stream,
            target: target.clone(),
            made: HashSet::new(),
        })
    }

    pub fn target(&self) -> &FtpTarget {
        &self.target
    }

    fn fail(&self, what: &str, path: &str, e: impl fmt::Display) -> String {
        self.target
            .redact(&format!("{what} {path}: {}", e.to_string().trim_end()))
    }

    /// The size of a remote file, `None` if there is none.
    pub fn size(&mut self, path: &str) -> Result<Option<u64>, String> {
        match self.stream.size(path) {
            Ok(n) => Ok(Some(n as u64)),
            Err(FtpError::UnexpectedResponse(r)) if r.status == Status::FileUnavailable => Ok(None),
            Err(e) => Err(self.fail("SIZE", path, e)),
        }
    }

    /// A whole remote file of at most `max` bytes.
    pub fn read_small(&mut self, path: &str, max: u64) -> Result<Vec<u8>, String> {
        let mut data = Vec::new();
        let mut stream = self
            .stream
            .retr_as_stream(path)
            .map_err(|e| self.fail("RETR", path, e))?;
        let read = (&mut stream).take(max + 1).read_to_end(&mut data);
        let ended = self.stream.finalize_retr_stream(stream);
        read.map_err(|e| self.fail("RETR", path, e))?;
        if data.len() as u64 > max {
            return Err(format!("{path}: longer than {max} bytes"));
        }
        ended.map_err(|e| self.fail("RETR", path, e))?;
        Ok(data)
    }

    /// Appends the remote file from byte `offset` on (REST) to `out`,
    /// counting what arrives in `received`.
    pub fn download(
        &mut self,
        path: &str,
        offset: u64,
        out: &mut impl Write,
        received: &mut u64,
    ) -> Result<(), String> {
        if offset > 0 {
            let at = usize::try_from(offset).map_err(|e| e.to_string())?;
            self.stream
                .resume_transfer(at)
                .map_err(|e| self.fail("REST", path, e))?;
        }
        let mut stream = self
            .stream
            .retr_as_stream(path)
            .map_err(|e| self.fail("RETR", path, e))?;
        let mut buffer = vec![0u8; 1 << 20];
        let copied = loop {
            match stream.read(&mut buffer) {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    if let Err(e) = out.write_all(&buffer[..n]) {
                        break Err(format!("writing the download: {e}"));
                    }
                    *received += n as u64;
                }
                Err(e) => break Err(self.fail("RETR", path, e)),
            }
        };
        let ended = self.stream.finalize_retr_stream(stream);
        copied?;
        ended.map_err(|e| self.fail("RETR", path, e))
    }

    /// Makes the directories of `path` (a file's path) as needed.
    fn make_parents(&mut self, path: &str) -> Result<(), String> {
        let parts: Vec<&str> = path.split('/').collect();
        for i in 1..parts.len() {
            let dir = parts[..i].join("/");
            if self.made.contains(&dir) {
                continue;
            }
            // An existing directory answers 550: not an error here; a
            // missing one shows up as the upload's error.
            let _ = self.stream.mkdir(&dir);
            self.made.insert(dir);
        }
        Ok(())
    }

    /// Uploads `local` to `path` under a temporary name, then renames it,
    /// so a client never reads half a file.
    pub fn upload(&mut self, path: &str, local: &Path) -> Result<u64, String> {
        let mut file =
            std::fs::File::open(local).map_err(|e| format!("{}: {e}", local.display()))?;
        self.upload_reader(path, &mut file)
    }

    /// As [`FtpSession::upload`], from bytes.
    pub fn upload_bytes(&mut self, path: &str, data: &[u8]) -> Result<u64, String> {
        self.upload_reader(path, &mut std::io::Cursor::new(data))
    }

    fn upload_reader(&mut self, path: &str, reader: &mut impl Read) -> Result<u64, String> {
        self.make_parents(path)?;
        let temp = format!("{path}{UPLOADING}");
        let mut reader = std::io::BufReader::with_capacity(1 << 20, reader);
        let n = self
            .stream
            .put_file(&temp, &mut reader)
            .map_err(|e| self.fail("STOR", &temp, e))?;
        if let Err(first) = self.stream.rename(temp.as_str(), path) {
            // Some servers refuse to rename over a file: remove it first.
            let _ = self.stream.rm(path);
            self.stream
                .rename(temp.as_str(), path)
                .map_err(|_| self.fail("RNFR/RNTO", path, first))?;
        }
        Ok(n)
    }

    /// Says goodbye; errors do not matter any more.
    pub fn quit(mut self) {
        let _ = self.stream.quit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_without_ever_showing_a_password() {
        let t = FtpTarget::parse("ftp://lab@10.0.0.5:2121/models/reg", Some("s3cret".into()))
            .expect("parses");
        assert_eq!(t.url(), "ftp://lab@10.0.0.5:2121/models/reg");
        assert!(!format!("{t:?}").contains("s3cret"));
        assert_eq!(t.redact("PASS s3cret failed"), "PASS *** failed");
        assert_eq!(
            t.path(&["dev", "m", "LATEST"]).expect("fine"),
            "models/reg/dev/m/LATEST"
        );
        assert!(t.path(&["dev", "..", "x"]).is_err());
        assert!(t.path(&["dev", "a/b"]).is_err());
        let anon = FtpTarget::parse("ftp://host", None).expect("parses");
        assert_eq!(anon.url(), "ftp://anonymous@host:21/");
        let err = FtpTarget::parse("ftp://lab:hunter2@host/", None).expect_err("refused");
        assert!(!err.contains("hunter2"), "{err}");
        for bad in [
            "http://host/",
            "ftp://host:0/",
            "ftp://host:x/",
            "ftp:///root",
            "ftp://host/../etc",
            "ftp://us er@host/",
        ] {
            assert!(FtpTarget::parse(bad, None).is_err(), "{bad}");
        }
    }
}
