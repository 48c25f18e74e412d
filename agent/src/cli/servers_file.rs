//! `--servers-file`: the servers an agent works for, one a line.
//!
//! ```text
//! # comments and blank lines are skipped
//! http://lab-a:3000           token-env=LAB_A_TOKEN
//! https://lab-b/trainyard/    token-file=/etc/trainyard/lab-b.token
//! http://lab-c:3000           token=s3cret
//! http://open-lab:3000
//! ```
//!
//! A line is a base URL, then at most one token setting: `token-env=VAR`
//! (read from the environment), `token-file=PATH` (the file's content,
//! trimmed) or `token=TOKEN`; none means the server needs no token. Every
//! error names the file and line.

use std::path::Path;

use trainyard_agent::ServerEndpoint;

/// Reads and checks the servers file at `path`.
pub fn read(path: &Path) -> Result<Vec<ServerEndpoint>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the servers file {}: {e}", path.display()))?;
    parse(&text, path, |name| std::env::var(name).ok())
}

/// Parses the file's `text`; `env` looks variables up (tests pass their own).
fn parse(
    text: &str,
    path: &Path,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Vec<ServerEndpoint>, String> {
    let mut servers: Vec<(usize, String, ServerEndpoint)> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let number = number + 1;
        let at = |why: String| format!("{}:{number}: {why}", path.display());
        let content = without_comment(line).trim();
        if content.is_empty() {
            continue;
        }
        let mut words = content.split_whitespace();
        let url = words.next().unwrap_or_default().to_string();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(at(format!(
                "{url:?} is not a server URL (it must start with http:// or https://)"
            )));
        }
        let mut token = None;
        for word in words {
            if token.is_some() {
                return Err(at(format!(
                    "{word:?}: one token setting per server is enough"
                )));
            }
            token = Some(read_token(word, &env).map_err(at)?);
        }
        let key = url.trim_end_matches('/').to_ascii_lowercase();
        if let Some((first, _, _)) = servers.iter().find(|(_, k, _)| *k == key) {
            return Err(at(format!(
                "{url} is already listed on line {first}; list each server once"
            )));
        }
        servers.push((number, key, ServerEndpoint { url, token }));
    }
    if servers.is_empty() {
        return Err(format!(
            "the servers file {} lists no servers (one URL a line)",
            path.display()
        ));
    }
    Ok(servers.into_iter().map(|(_, _, server)| server).collect())
}

/// `line` up to a `#` that starts it or follows a space.
fn without_comment(line: &str) -> &str {
    let mut after_space = true;
    for (at, c) in line.char_indices() {
        if c == '#' && after_space {
            return &line[..at];
        }
        after_space = c.is_whitespace();
    }
    line
}

/// The token a `token…=` setting names.
fn read_token(word: &str, env: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let (key, value) = word.split_once('=').unwrap_or((word, ""));
    let token = match key {
        "token" => value.to_string(),
        "token-env" => env(value).ok_or_else(|| {
            format!("token-env={value}: the environment variable {value} is not set")
        })?,
        "token-file" => std::fs::read_to_string(value)
            .map_err(|e| format!("token-file={value}: cannot read it: {e}"))?,
        _ => {
            return Err(format!(
                "{word:?}: expected token-env=VAR, token-file=PATH or token=TOKEN after the URL"
            ))
        }
    };
    let token = token.trim().to_string();
    if token.is_empty() {
        return Err(format!("{word}: the token is empty"));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<Vec<ServerEndpoint>, String> {
        parse(text, Path::new("servers.txt"), |name| {
            (name == "LAB_A").then(|| "a-token\n".to_string())
        })
    }

    #[test]
    fn lines_give_urls_and_their_tokens() {
        let servers = parsed(
            "# the lab's servers\n\nhttp://a:3000 token-env=LAB_A\n  https://b/t/  token=s3 # b\nhttp://c\n",
        )
        .unwrap_or_default();
        let shown: Vec<(&str, Option<&str>)> = servers
            .iter()
            .map(|s| (s.url.as_str(), s.token.as_deref()))
            .collect();
        assert_eq!(
            shown,
            [
                ("http://a:3000", Some("a-token")),
                ("https://b/t/", Some("s3")),
                ("http://c", None)
            ]
        );
    }

    #[test]
    fn bad_lines_are_named_by_file_and_line() {
        for (text, expected) in [
            (
                "http://a\nlab-b:3000\n",
                "servers.txt:2: \"lab-b:3000\" is not a server URL",
            ),
            (
                "http://a\nhttp://A/\n",
                "servers.txt:2: http://A/ is already listed on line 1",
            ),
            (
                "http://a token-env=NOPE\n",
                "servers.txt:1: token-env=NOPE: the environment variable NOPE is not set",
            ),
            (
                "http://a password=x\n",
                "servers.txt:1: \"password=x\": expected token-env",
            ),
            (
                "http://a token=x token=y\n",
                "servers.txt:1: \"token=y\": one token setting",
            ),
            (
                "http://a token=\n",
                "servers.txt:1: token=: the token is empty",
            ),
            (
                "http://a token-file=/nonexistent/t\n",
                "servers.txt:1: token-file=/nonexistent/t: cannot read it",
            ),
            ("# nothing\n", "lists no servers"),
        ] {
            let error = parsed(text).err().unwrap_or_default();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }

    #[test]
    fn an_unreadable_file_is_named() {
        let error = read(Path::new("/nonexistent/servers.txt"))
            .err()
            .unwrap_or_default();
        assert!(
            error.contains("cannot read the servers file /nonexistent/servers.txt"),
            "{error}"
        );
    }
}
