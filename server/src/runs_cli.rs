//! `trainyard runs`: a project's runs table from a running server, as a
//! table, JSON or CSV (`--project P --sort -val_acc --format csv`); without
//! `--project`, the projects. `trainyard runs archive|restore ID…` and
//! `trainyard runs purge --older-than 30d` clean up. All over REST.

use std::fmt::Write as _;

use clap::{Args, Subcommand, ValueEnum};
use trainyard_core::protocol::paths;
use trainyard_core::runs::{
    parse_age_ms, ArchivedFilter, ProjectSummary, PurgeReport, RunRow, RunState, RunsPage,
    MAX_PAGE_SIZE,
};

use crate::remote::{RemoteServer, ServerArgs};

#[derive(Debug, Args)]
pub struct RunsArgs {
    #[command(subcommand)]
    pub command: Option<RunsCommand>,
    /// The project whose runs to list (without it: the projects).
    #[arg(long)]
    pub project: Option<String>,
    /// Sort column, descending with a leading `-`: a metric or parameter
    /// key (`-val_acc`, `lr`), `id`, `name`, `status`, `started`,
    /// `duration`, or explicitly `metric:<key>` / `param:<key>`.
    #[arg(long, allow_hyphen_values = true)]
    pub sort: Option<String>,
    /// Only runs with this status (queued, running, succeeded, failed, …).
    #[arg(long)]
    pub status: Option<String>,
    /// Only runs whose name, parameters, notes or tags contain this.
    #[arg(long)]
    pub search: Option<String>,
    /// Archived runs: exclude (default), include or only.
    #[arg(long, default_value = "exclude", value_parser = parse_archived)]
    pub archived: ArchivedFilter,
    /// At most this many runs (default: all).
    #[arg(long)]
    pub limit: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// Archive finished runs: hidden from listings, files kept until a purge.
    Archive {
        #[arg(required = true)]
        ids: Vec<i64>,
    },
    /// Bring archived runs back.
    Restore {
        #[arg(required = true)]
        ids: Vec<i64>,
    },
    /// Delete runs archived at least this long ago, with their files,
    /// metrics, output and notes (e.g. `--older-than 30d`; units s, m, h, d, w).
    Purge {
        #[arg(long, value_parser = parse_older_than)]
        older_than: String,
    },
}

fn parse_archived(s: &str) -> Result<ArchivedFilter, String> {
    s.parse()
}

/// Checked here for a fast answer; the server checks again.
fn parse_older_than(s: &str) -> Result<String, String> {
    parse_age_ms("--older-than", s).map(|_| s.trim().to_string())
}

/// Runs the command; prints to stdout.
pub async fn run(args: RunsArgs) -> anyhow::Result<()> {
    let server = RemoteServer::new(&args.server)?;
    match &args.command {
        Some(RunsCommand::Archive { ids }) => {
            for id in ids {
                let state: RunState = server
                    .json(
                        server.http.post(server.url(&paths::run_archive(*id))),
                        &format!("run {id}"),
                    )
                    .await?;
                println!("run {id} archived{}", state_text(&state));
            }
            Ok(())
        }
        Some(RunsCommand::Restore { ids }) => {
            for id in ids {
                let state: RunState = server
                    .json(
                        server.http.post(server.url(&paths::run_restore(*id))),
                        &format!("run {id}"),
                    )
                    .await?;
                println!("run {id} restored{}", state_text(&state));
            }
            Ok(())
        }
        Some(RunsCommand::Purge { older_than }) => {
            let report: PurgeReport = server
                .json(
                    server
                        .http
                        .post(server.url(&paths::runs_purge()))
                        .query(&[("older_than", older_than)]),
                    "purge",
                )
                .await?;
            if report.purged.is_empty() {
                println!("no archived runs older than {older_than}");
            } else {
                let ids: Vec<String> = report.purged.iter().map(i64::to_string).collect();
                println!("purged {} run(s): {}", ids.len(), ids.join(", "));
            }
            for why in &report.skipped {
                println!("skipped: {why}");
            }
            Ok(())
        }
        None => match &args.project {
            None => list_projects(&server, &args).await,
            Some(project) => list_runs(&server, &args, project).await,
        },
    }
}

fn state_text(state: &RunState) -> String {
    let mut out = String::new();
    if let Some(origin) = &state.server_origin {
        let _ = write!(out, " (ran on {}", origin.label());
        if let Some(sync) = state.sync_status {
            let _ = write!(out, ", {}", sync.label());
        }
        out.push(')');
    }
    out
}

async fn list_projects(server: &RemoteServer, args: &RunsArgs) -> anyhow::Result<()> {
    let projects: Vec<ProjectSummary> = server
        .json(
            server
                .http
                .get(server.url(&paths::projects()))
                .query(&[("archived", args.archived.label())]),
            "projects",
        )
        .await?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&projects)?),
        Format::Csv | Format::Table => {
            let header = [
                "project",
                "runs",
                "active",
                "succeeded",
                "failed",
                "archived",
            ];
            let rows: Vec<Vec<String>> = projects
                .iter()
                .map(|p| {
                    vec![
                        p.name.clone(),
                        p.runs.to_string(),
                        p.active.to_string(),
                        p.succeeded.to_string(),
                        p.failed.to_string(),
                        p.archived.to_string(),
                    ]
                })
                .collect();
            if args.format == Format::Csv {
                print!("{}", csv(&header, &rows));
            } else {
                print!("{}", table(&header, &rows));
                if projects.is_empty() {
                    println!("(no projects yet)");
                } else {
                    println!("\n`trainyard runs --project NAME` lists a project's runs");
                }
            }
        }
    }
    Ok(())
}

/// The query for one page of `project`'s runs.
fn runs_query(
    args: &RunsArgs,
    sort: Option<&str>,
    page: u32,
    size: u32,
) -> Vec<(&'static str, String)> {
    let mut q = vec![
        ("page", page.to_string()),
        ("page_size", size.to_string()),
        ("archived", args.archived.label().to_string()),
    ];
    if let Some(sort) = sort {
        q.push(("sort", sort.to_string()));
    }
    if let Some(status) = &args.status {
        q.push(("status", status.clone()));
    }
    if let Some(search) = &args.search {
        q.push(("search", search.clone()));
    }
    q
}

/// `-val_acc` → `-metric:val_acc` (or `-param:…` when the project has a
/// parameter and no metric of that name); built-in and explicit columns stay.
fn resolve_sort(raw: &str, page: &RunsPage) -> String {
    let (sign, key) = match raw.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", raw),
    };
    let builtin = ["id", "name", "status", "started", "duration"].contains(&key);
    if builtin || key.starts_with("metric:") || key.starts_with("param:") {
        return raw.to_string();
    }
    let kind =
        if !page.metric_keys.iter().any(|k| k == key) && page.param_keys.iter().any(|k| k == key) {
            "param"
        } else {
            "metric"
        };
    format!("{sign}{kind}:{key}")
}

async fn list_runs(server: &RemoteServer, args: &RunsArgs, project: &str) -> anyhow::Result<()> {
    let url = server.url(&paths::project_runs(project));
    let what = format!("project {project:?}");
    // The first page names the project's columns, for `--sort` by bare key.
    let first: RunsPage = server
        .json(
            server.http.get(&url).query(&runs_query(args, None, 0, 1)),
            &what,
        )
        .await?;
    let sort = args.sort.as_deref().map(|s| resolve_sort(s, &first));
    if args.format == Format::Csv && args.limit.is_none() {
        let mut q = runs_query(args, sort.as_deref(), 0, 1);
        q.push(("format", "csv".into()));
        let text = server
            .send(server.http.get(&url).query(&q), &what)
            .await?
            .text()
            .await?;
        print!("{text}");
        return Ok(());
    }
    let limit = args.limit.unwrap_or(u64::MAX);
    let mut rows: Vec<RunRow> = Vec::new();
    let mut page_no = 0;
    let mut page: RunsPage;
    loop {
        page = server
            .json(
                server.http.get(&url).query(&runs_query(
                    args,
                    sort.as_deref(),
                    page_no,
                    MAX_PAGE_SIZE,
                )),
                &what,
            )
            .await?;
        let got = page.rows.len();
        rows.extend(std::mem::take(&mut page.rows));
        if got == 0 || rows.len() as u64 >= page.total.min(limit) {
            break;
        }
        page_no += 1;
    }
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    match args.format {
        Format::Json => {
            page.rows = rows;
            page.page = 0;
            page.page_size = u32::try_from(page.rows.len()).unwrap_or(u32::MAX);
            println!("{}", serde_json::to_string_pretty(&page)?);
        }
        Format::Csv | Format::Table => {
            let mut header: Vec<String> = ["id", "name", "status", "origin", "sync", "duration"]
                .map(String::from)
                .to_vec();
            header.extend(page.param_keys.iter().cloned());
            header.extend(page.metric_keys.iter().cloned());
            header.push("tags".into());
            if args.archived != ArchivedFilter::Exclude {
                header.push("archived".into());
            }
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| row_cells(r, &page, args.archived != ArchivedFilter::Exclude))
                .collect();
            let header: Vec<&str> = header.iter().map(String::as_str).collect();
            if args.format == Format::Csv {
                print!("{}", csv(&header, &cells));
            } else {
                print!("{}", table(&header, &cells));
                println!("{} of {} run(s)", rows.len(), page.total);
            }
        }
    }
    Ok(())
}

fn row_cells(r: &RunRow, page: &RunsPage, with_archived: bool) -> Vec<String> {
    let job = &r.job;
    let mut cells = vec![
        job.id.to_string(),
        job.name.clone(),
        job.status.label().to_string(),
        r.state
            .server_origin
            .as_ref()
            .map_or_else(|| "-".into(), |o| o.label().to_string()),
        r.state
            .sync_status
            .map_or_else(|| "-".into(), |s| s.label().to_string()),
        job.duration_ms
            .map_or_else(|| "-".into(), |d| format!("{:.1}s", d as f64 / 1000.0)),
    ];
    cells.extend(page.param_keys.iter().map(|k| {
        job.params
            .iter()
            .find(|(p, _)| p == k)
            .map_or_else(|| "-".into(), |(_, v)| v.clone())
    }));
    cells.extend(page.metric_keys.iter().map(|k| {
        r.metrics
            .iter()
            .find(|(m, _)| m == k)
            .map_or_else(|| "-".into(), |(_, v)| v.to_string())
    }));
    cells.push(r.notes.tags.join(","));
    if with_archived {
        cells.push(
            if r.state.archived_ms.is_some() {
                "yes"
            } else {
                "no"
            }
            .into(),
        );
    }
    cells
}

/// Columns padded to their widest cell, two spaces apart.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
        let text: Vec<String> = cells
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}", w = *w))
            .collect();
        out.push_str(text.join("  ").trim_end());
        out.push('\n');
    };
    line(&mut out, &mut header.iter().copied());
    for row in rows {
        line(&mut out, &mut row.iter().map(String::as_str));
    }
    out
}

/// RFC 4180 CSV.
fn csv(header: &[&str], rows: &[Vec<String>]) -> String {
    let field = |f: &str| {
        if f.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", f.replace('"', "\"\""))
        } else {
            f.to_string()
        }
    };
    let mut out = String::new();
    let record = |out: &mut String, cells: Vec<String>| {
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    };
    record(&mut out, header.iter().map(|h| field(h)).collect());
    for row in rows {
        record(&mut out, row.iter().map(|c| field(c)).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(params: &[&str], metrics: &[&str]) -> RunsPage {
        RunsPage {
            total: 0,
            page: 0,
            page_size: 1,
            rows: vec![],
            param_keys: params.iter().map(|s| s.to_string()).collect(),
            metric_keys: metrics.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn bare_sort_keys_become_metric_or_parameter_columns() {
        let p = page(&["lr"], &["val_acc"]);
        assert_eq!(resolve_sort("-val_acc", &p), "-metric:val_acc");
        assert_eq!(resolve_sort("lr", &p), "param:lr");
        assert_eq!(resolve_sort("-duration", &p), "-duration");
        assert_eq!(resolve_sort("param:x", &p), "param:x");
        // Unknown keys go to the server as metrics, which names what exists.
        assert_eq!(resolve_sort("nope", &p), "metric:nope");
    }

    #[test]
    fn tables_pad_and_csv_quotes() {
        let rows = vec![vec!["1".to_string(), "a,b".to_string()]];
        assert_eq!(table(&["id", "name"], &rows), "id  name\n1   a,b\n");
        assert_eq!(csv(&["id", "name"], &rows), "id,name\r\n1,\"a,b\"\r\n");
    }

    fn parse(args: &[&str]) -> Result<RunsArgs, String> {
        use clap::Parser;
        match crate::cli::Cli::try_parse_from(args)
            .map_err(|e| e.to_string())?
            .command
        {
            Some(crate::cli::Command::Runs(runs)) => Ok(runs),
            other => Err(format!("not `runs`: {other:?}")),
        }
    }

    #[test]
    fn the_command_line_takes_descending_sorts_and_checks_its_flags() {
        let runs = parse(&[
            "trainyard",
            "runs",
            "--project",
            "p",
            "--sort",
            "-val_acc",
            "--format",
            "csv",
        ])
        .expect("valid");
        assert_eq!(runs.sort.as_deref(), Some("-val_acc"));
        assert_eq!(runs.format, Format::Csv);
        let purge = parse(&["trainyard", "runs", "purge", "--older-than", "30d"]).expect("valid");
        assert!(matches!(purge.command, Some(RunsCommand::Purge { .. })));
        let bad =
            parse(&["trainyard", "runs", "purge", "--older-than", "30days"]).expect_err("bad age");
        assert!(bad.contains("--older-than"), "{bad}");
        let bad = parse(&["trainyard", "runs", "--archived", "all"]).expect_err("bad filter");
        assert!(bad.contains("archived"), "{bad}");
        let bad = parse(&["trainyard", "runs", "--format", "xml"]).expect_err("bad format");
        assert!(bad.contains("xml"), "{bad}");
    }

    #[test]
    fn a_bad_older_than_names_the_flag() {
        let err = parse_older_than("30 days").expect_err("not an age");
        assert!(err.starts_with("--older-than:"), "{err}");
        assert_eq!(parse_older_than("30d"), Ok("30d".into()));
    }
}
