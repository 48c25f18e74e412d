//! Which servers the command line names: each `--url` with the `--token`
//! that follows it. (The agent refuses a server listed twice, however it
//! was spelled, as it starts.)

use clap::parser::ValueSource;
use clap::ArgMatches;
use trainyard_agent::ServerEndpoint;

/// Where `--url` and `--token` values stood on the command line, which
/// clap's derived fields do not keep.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Positions {
    urls: Vec<usize>,
    tokens: Vec<usize>,
    /// The token came from `TRAINYARD_TOKEN`, not the command line.
    token_from_env: bool,
}

impl Positions {
    pub fn of(matches: &ArgMatches) -> Positions {
        let indices = |id: &str| -> Vec<usize> {
            matches
                .indices_of(id)
                .map(Iterator::collect)
                .unwrap_or_default()
        };
        Positions {
            urls: indices("url"),
            tokens: indices("token"),
            token_from_env: matches.value_source("token") == Some(ValueSource::EnvVariable),
        }
    }
}

/// The `urls` in order, each with the one of `tokens` given after it
/// (before the next `--url`). A single `--url` may take its token from
/// anywhere on the line or from `TRAINYARD_TOKEN`, as it always could.
pub fn pair(
    urls: &[String],
    tokens: &[String],
    at: &Positions,
) -> Result<Vec<ServerEndpoint>, String> {
    if urls.len() <= 1 {
        if tokens.len() > 1 {
            return Err("two --token for one --url; give each --url its own --token".into());
        }
        if urls.is_empty() && !tokens.is_empty() {
            return Err(if at.token_from_env {
                "TRAINYARD_TOKEN is set but no --url is given; a servers file names \
                 its tokens itself (token-env=VAR)"
                    .into()
            } else {
                "--token must follow the --url it belongs to".into()
            });
        }
        return Ok(urls
            .iter()
            .map(|url| ServerEndpoint {
                url: url.clone(),
                token: tokens.first().cloned(),
            })
            .collect());
    }
    if at.token_from_env {
        return Err(
            "TRAINYARD_TOKEN is set, but with several --url each needs its own --token \
             after it (or use --servers-file)"
                .into(),
        );
    }
    let mut servers: Vec<ServerEndpoint> = urls
        .iter()
        .map(|url| ServerEndpoint {
            url: url.clone(),
            token: None,
        })
        .collect();
    for (n, token) in tokens.iter().enumerate() {
        let token_at = at.tokens.get(n).copied().unwrap_or(0);
        let owner = at.urls.iter().rposition(|url_at| *url_at < token_at);
        let Some(server) = owner.and_then(|i| servers.get_mut(i)) else {
            return Err("--token must follow the --url it belongs to".into());
        };
        if server.token.is_some() {
            return Err(format!(
                "two --token for --url {}; give each --url its own --token",
                server.url
            ));
        }
        server.token = Some(token.clone());
    }
    Ok(servers)
}
