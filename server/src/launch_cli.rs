//! `trainyard launch TASK --set k=v …` and `trainyard catalog …`: the
//! launcher from a shell, against a running server.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use trainyard_core::catalog::{
    CatalogDiff, CatalogRevision, CatalogRevisionContent, CatalogSaved, CatalogTasks, CatalogView,
    FieldValue, LaunchRequest, LaunchResult, SaveCatalog,
};
use trainyard_core::protocol::paths;
use trainyard_core::Priority;

use crate::remote::{RemoteServer, ServerArgs};

#[derive(Debug, Args)]
pub struct LaunchArgs {
    /// The catalog task (`taskType`) to launch.
    pub task: String,
    /// A field's value, `name=value` (repeat for more fields). A comma list
    /// (`lr=0.1,0.01`) or the same name given twice is a sweep: one job per
    /// value. `\,` is a literal comma.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Scheduling priority: high, normal or low.
    #[arg(long, value_parser = parse_priority)]
    pub priority: Option<Priority>,
    /// GPUs per job (0 = CPU slot; default 1).
    #[arg(long)]
    pub gpus: Option<u32>,
    /// Run only on this host (agent host id).
    #[arg(long)]
    pub host: Option<String>,
    /// Only GPUs with at least this much free memory (MiB).
    #[arg(long)]
    pub min_gpu_memory_mb: Option<u64>,
    /// Print the argv of each run without queueing anything.
    #[arg(long)]
    pub preview: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

fn parse_priority(s: &str) -> Result<Priority, String> {
    s.parse()
}

/// `--set` pairs → the request's values; a name given twice is a list.
pub fn values(sets: &[String]) -> anyhow::Result<BTreeMap<String, FieldValue>> {
    let mut out: BTreeMap<String, FieldValue> = BTreeMap::new();
    for s in sets {
        let Some((name, value)) = s.split_once('=') else {
            bail!("--set {s:?}: write NAME=VALUE");
        };
        let name = name.trim().to_string();
        let value = FieldValue::Text(value.to_string());
        match out.remove(&name) {
            None => {
                out.insert(name, value);
            }
            Some(FieldValue::List(mut items)) => {
                items.push(value);
                out.insert(name, FieldValue::List(items));
            }
            Some(first) => {
                out.insert(name, FieldValue::List(vec![first, value]));
            }
        }
    }
    Ok(out)
}

/// Launches (or previews) and prints the jobs and their argv.
pub async fn run(args: LaunchArgs) -> anyhow::Result<()> {
    let server = RemoteServer::new(&args.server)?;
    let req = LaunchRequest {
        task_type: args.task.clone(),
        values: values(&args.set)?,
        priority: args.priority,
        gpus: args.gpus,
        host: args.host.clone(),
        min_gpu_memory_mb: args.min_gpu_memory_mb,
        preview: args.preview,
    };
    let result: LaunchResult = server
        .json(
            server.http.post(server.url(&paths::launch())).json(&req),
            &format!("launch {}", args.task),
        )
        .await?;
    match result.sweep_id {
        None => println!(
            "{} run(s) of {} (catalog revision {}), not queued:",
            result.runs.len(),
            result.task_type,
            result.revision_id
        ),
        Some(sweep) => println!(
            "queued sweep {sweep} with {} job(s) of {} (catalog revision {}):",
            result.jobs.len(),
            result.task_type,
            result.revision_id
        ),
    }
    for (i, run) in result.runs.iter().enumerate() {
        let id = result
            .jobs
            .get(i)
            .map_or_else(|| "-".to_string(), |j| j.id.to_string());
        println!("  {id:>6}  {:<40}  {}", run.name, shell_quoted(&run.argv));
    }
    Ok(())
}

/// The argv as a shell would need it typed (for reading only; nothing runs
/// a shell).
fn shell_quoted(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug, Args)]
pub struct CatalogArgs {
    #[command(subcommand)]
    pub command: CatalogCommand,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Print the running catalog's YAML.
    Show,
    /// Validate and save a catalog file as the running one (`-`: stdin).
    Save { file: PathBuf },
    /// List the revisions, newest first.
    Revisions,
    /// Print one revision's YAML.
    Get { id: i64 },
    /// A line diff between two revisions.
    Diff { from: i64, to: i64 },
    /// Save an old revision again as the running one.
    Restore { id: i64 },
    /// The tasks and their fields, as the forms show them.
    Tasks,
}

pub async fn run_catalog(args: CatalogArgs) -> anyhow::Result<()> {
    let s = RemoteServer::new(&args.server)?;
    match args.command {
        CatalogCommand::Show => {
            let view: CatalogView = s
                .json(s.http.get(s.url(&paths::catalog())), "catalog")
                .await?;
            match view.revision {
                Some(r) => eprintln!("revision {} ({}, by {})", r.id, r.source, r.saved_by),
                None => eprintln!("no catalog saved yet"),
            }
            print!("{}", view.content);
        }
        CatalogCommand::Save { file } => {
            let content = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin()).context("reading stdin")?
            } else {
                std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?
            };
            let saved: CatalogSaved = s
                .json(
                    s.http
                        .post(s.url(&paths::catalog()))
                        .json(&SaveCatalog { content }),
                    "save the catalog",
                )
                .await?;
            if saved.created {
                println!("saved as revision {}", saved.revision.id);
            } else {
                println!("unchanged: revision {} has this content", saved.revision.id);
            }
        }
        CatalogCommand::Revisions => {
            let list: Vec<CatalogRevision> = s
                .json(s.http.get(s.url(&paths::catalog_revisions())), "revisions")
                .await?;
            for r in list {
                println!(
                    "{:>5}  {:>15}  {:<12}  {}",
                    r.id, r.created_ms, r.saved_by, r.source
                );
            }
        }
        CatalogCommand::Get { id } => {
            let r: CatalogRevisionContent = s
                .json(s.http.get(s.url(&paths::catalog_revision(id))), "revision")
                .await?;
            print!("{}", r.content);
        }
        CatalogCommand::Diff { from, to } => {
            let d: CatalogDiff = s
                .json(s.http.get(s.url(&paths::catalog_diff(from, to))), "diff")
                .await?;
            print!("{}", d.unified);
        }
        CatalogCommand::Restore { id } => {
            let saved: CatalogSaved = s
                .json(s.http.post(s.url(&paths::catalog_restore(id))), "restore")
                .await?;
            println!("revision {id} restored as revision {}", saved.revision.id);
        }
        CatalogCommand::Tasks => {
            let t: CatalogTasks = s
                .json(s.http.get(s.url(&paths::catalog_tasks())), "tasks")
                .await?;
            for task in t.tasks {
                println!("{} ({}): {}", task.task_type, task.title, task.description);
                for f in task.fields {
                    let default = f.default.map(|d| format!(" = {d}")).unwrap_or_default();
                    let required = if f.required { " (required)" } else { "" };
                    println!("  {} {}{default}{required}  {}", f.cli_arg, f.name, f.label);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_make_lists_and_values_stay_text() {
        let v =
            values(&["a=1".into(), "b=x=y".into(), "a=2".into(), "a=3".into()]).expect("parsed");
        assert_eq!(
            v["a"],
            FieldValue::List(vec![
                FieldValue::Text("1".into()),
                FieldValue::Text("2".into()),
                FieldValue::Text("3".into())
            ])
        );
        assert_eq!(v["b"], FieldValue::Text("x=y".into()));
        assert!(values(&["novalue".into()]).is_err());
    }

    #[test]
    fn argv_is_printed_quoted() {
        let argv = [
            "python".to_string(),
            "--note".into(),
            "; rm -rf /".into(),
            "".into(),
        ];
        assert_eq!(shell_quoted(&argv), "python --note '; rm -rf /' ''");
    }
}
