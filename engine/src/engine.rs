//! The one public door of the engine: it builds the domains, hands each the
//! others it needs on every call, and forwards. Reading this file is reading
//! the table of contents of what the server can do; the rules live in the
//! domain modules (`hosts/`, `jobs/`, `files/`, `metrics/`, `runs/`,
//! `import/`, `components/`, `tracking/`, `launcher/`, `models/`), which never import
//! this file.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use trainyard_core::catalog::{
    CatalogDiff, CatalogRevision, CatalogRevisionContent, CatalogSaved, CatalogTasks, CatalogView,
    JobLaunch, LaunchRequest, LaunchResult,
};
use trainyard_core::components::{
    ActivateRequest, ComponentSummary, ComponentVersion, ConflictNotice, CopyUploadQuery,
    DiffResponse, ExperimentManifest, JobManifest, Resolution, ScanReport, SyncPlan, SyncRequest,
    UploadRequest, UploadResponse,
};
use trainyard_core::config::SweepLimits;
use trainyard_core::metrics::RunProblem;
use trainyard_core::models::{
    BestMode, BestRunReport, MirrorView, ModelManifest, ModelSummary, ModelVersionView, ModelView,
    PromoteRequest, PublishBest, PublishedBest, RegisterFromRun, UploadVersion,
};
use trainyard_core::runs::{
    ArchivedFilter, ImportReport, ProjectSummary, PurgeReport, RunComparison, RunDetail, RunNotes,
    RunProgress, RunState, RunsPage, RunsQuery,
};
use trainyard_core::serving::{ServeRequest, ServingView};
use trainyard_core::sync::{AppendQuery, FileEntry, SyncStatus, UploadAck, UploadQuery};
use trainyard_core::telemetry::{FleetTelemetry, HostTelemetry, TelemetryWindow};
use trainyard_core::webhooks::{DeliveryView, NewWebhook, WebhookView};
use trainyard_core::work::{
    AttemptRef, FinishedReport, PollRequest, PollResponse, ResumeFiles, StartedReport,
};
use trainyard_core::{
    protocol, FleetCounts, Heartbeat, HostQuery, HostView, HostsPage, JobDetail, JobStatus,
    JobView, MetricSeries, MetricSummary, Priority, ServerStatus, SubmitOptions, SubmitResult,
};

use crate::clock::Clock;
use crate::components::{Actor, Components};
use crate::error::EngineError;
use crate::events::EventBus;
use crate::exposition::Counter;
use crate::files::DirEntry;
use crate::files::RunFileStore;
use crate::hosts::Hosts;
use crate::import::{Imports, WATCH_INTERVAL};
use crate::jobs::{JobFilter, LogAppended, LogRead, Scheduler};
use crate::launcher::Launcher;
use crate::metrics::{MetricPoint, Metrics};
use crate::mirror::Mirror;
use crate::models::{
    MlflowStage, ModelDownload, ModelDraft, Models, NewMlflowVersion, RegisteredModel,
    RegisteredVersion, RunSide, ServingTarget,
};
use crate::notify::Notifier;
use crate::prometheus;
use crate::runs::{Results, RunFileSlice, RunFileSources};
use crate::settings::EngineSettings;
use crate::store::Store;
use crate::tracking::{
    parse_experiment_id, Experiment, MetricHistory, NewRun, RunSearch, RunSearchPage, RunUpdate,
    TrackedBatch, TrackedRun, Tracking,
};

/// How often health is re-derived and leases checked; bounds how late a
/// "stale" or a lost attempt shows up.
const HEALTH_TICK: Duration = Duration::from_millis(500);
/// How often queued jobs' reasons for waiting are re-derived.
const REASON_TICK: Duration = Duration::from_secs(1);

/// Shared server state. Cheap to share behind an `Arc`.
pub struct Engine {
    settings: EngineSettings,
    store: Store,
    bus: Arc<EventBus>,
    hosts: Hosts,
    scheduler: Scheduler,
    files: RunFileStore,
    metrics: Metrics,
    results: Results,
    imports: Imports,
    components: Components,
    tracking: Tracking,
    launcher: Launcher,
    notifier: Notifier,
    /// Heartbeats accepted and refused since start (`/metrics`).
    heartbeats: Counter,
    heartbeats_refused: Counter,
    models: Models,
    mirror: Mirror,
    started: Instant,
}

impl Engine {
    /// Opens the store, migrates it and loads the known hosts and the
    /// unfinished jobs.
    pub async fn open(settings: EngineSettings) -> Result<Engine, EngineError> {
        let data = settings.data_dir.clone();
        let store = if settings.in_memory_database {
            Store::in_memory().await?
        } else {
            Store::open(&data).await?
        };
        let clock = settings.clock.clone();
        let bus = Arc::new(EventBus::new(format!("{:x}", clock.now_ms())));
        let hosts = Hosts::load(
            store.clone(),
            bus.clone(),
            clock.clone(),
            settings.thresholds,
            settings.snapshot_interval,
        )
        .await?;
        let notifier =
            Notifier::load(settings.notify.clone(), store.clone(), clock.clone()).await?;
        let scheduler = Scheduler::load(
            settings.jobs.clone(),
            data.join("logs"),
            store.clone(),
            bus.clone(),
            clock.clone(),
            notifier.outbox(),
        )
        .await?;
        let files = RunFileStore::new(
            data.join("runs"),
            data.join("uploads"),
            settings.files.clone(),
        );
        let metrics = Metrics::new(
            data.join("metrics"),
            store.clone(),
            bus.clone(),
            clock.clone(),
        );
        let results = Results::new(store.clone(), clock.clone(), settings.local_host_id.clone());
        let imports = Imports::new(
            settings.import_dirs.clone(),
            settings.jobs.default_command.clone(),
            store.clone(),
            bus.clone(),
            clock.clone(),
        );
        let components = Components::new(
            settings.components_dir.clone(),
            store.clone(),
            bus.clone(),
            clock.clone(),
        );
        let tracking = Tracking::new(store.clone(), clock.clone());
        let launcher = Launcher::load(store.clone(), clock.clone()).await?;
        let models = Models::load(
            data.join("models"),
            store.clone(),
            clock.clone(),
            settings.files.max_file_bytes,
        )
        .await?;
        // After the models: their recovery has put every version in place.
        let mirror = Mirror::load(
            settings.mirror.clone(),
            store.clone(),
            clock.clone(),
            data.join("models"),
        )
        .await?;
        let models = models.mirrored_by(mirror.queue());
        Ok(Engine {
            models,
            mirror,
            launcher,
            notifier,
            heartbeats: Counter::default(),
            heartbeats_refused: Counter::default(),
            started: clock.now(),
            components,
            tracking,
            settings,
            store,
            bus,
            hosts,
            scheduler,
            files,
            metrics,
            results,
            imports,
        })
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    fn clock(&self) -> &Clock {
        &self.settings.clock
    }

    /// Server wall-clock time in Unix ms (what `last_seen_ms` is measured in).
    pub fn now_ms(&self) -> i64 {
        self.clock().now_ms()
    }

    /// Everything published to browsers (`GET /api/v1/events`).
    pub fn events(&self) -> &EventBus {
        &self.bus
    }

    /// Dashboard numbers.
    pub fn status(&self, auth_required: bool) -> ServerStatus {
        let counts = self.hosts.counts();
        let thresholds = self.hosts.thresholds();
        ServerStatus {
            status: "ok".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            protocol_version: protocol::PROTOCOL_VERSION,
            server_time_ms: self.now_ms(),
            uptime_secs: self.clock().now().duration_since(self.started).as_secs(),
            hosts_healthy: counts.healthy,
            hosts_stale: counts.stale,
            hosts_disconnected: counts.disconnected,
            gpus_total: counts.gpus_total,
            gpus_free: counts.gpus_free,
            auth_required,
            stale_after_secs: thresholds.stale_after.as_secs(),
            disconnected_after_secs: thresholds.disconnected_after.as_secs(),
        }
    }

    // ---- background -------------------------------------------------------

    /// Runs the engine's upkeep until `shutdown`: host health and lease
    /// expiry (every 500 ms), waiting reasons (every second), host flushes
    /// (every `flush_interval`); then flushes once more and closes the store.
    pub async fn run_background(self: Arc<Self>, shutdown: impl Future<Output = ()>) {
        let mut health = tokio::time::interval(HEALTH_TICK);
        let mut flush = tokio::time::interval(self.settings.flush_interval);
        let mut reasons = tokio::time::interval(REASON_TICK);
        for tick in [&mut health, &mut flush, &mut reasons] {
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        }
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = health.tick() => {
                    self.hosts.refresh_health();
                    self.hosts.publish_counts();
                    self.scheduler.expire_leases().await;
                }
                _ = reasons.tick() => self.scheduler.refresh_waiting_reasons(&self.hosts).await,
                _ = flush.tick() => {
                    if let Err(e) = self.hosts.flush().await {
                        tracing::error!("could not save host state (will retry): {e}");
                    }
                }
            }
        }
        self.close().await;
    }

    /// Scans the import trees every [`WATCH_INTERVAL`], for as long as the
    /// task runs (the server aborts it at shutdown).
    pub async fn watch_imports(self: Arc<Self>) {
        let mut tick = tokio::time::interval(WATCH_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let report = self.scan_imports().await;
            if report.added + report.updated > 0 {
                tracing::info!(
                    added = report.added,
                    updated = report.updated,
                    runs = report.runs,
                    "imported runs indexed"
                );
            }
        }
    }

    /// Ends waiting polls, writes everything and closes the database; call
    /// once at shutdown.
    pub async fn close(&self) {
        self.scheduler.close();
        if let Err(e) = self.hosts.flush_all().await {
            tracing::error!("final flush failed: {e}");
        }
        self.store.close().await;
    }

    // ---- hosts ------------------------------------------------------------

    /// Checks and records a heartbeat; returns the server time it was recorded at.
    pub fn ingest_heartbeat(&self, hb: Heartbeat) -> Result<i64, EngineError> {
        let result = self.hosts.ingest_heartbeat(hb);
        match &result {
            Ok(_) => self.heartbeats.inc(),
            Err(_) => self.heartbeats_refused.inc(),
        }
        result
    }

    /// A heartbeat to parse the next one into, reusing its buffers
    /// (`Heartbeat::deserialize_reusing`): an old one when one is spare.
    pub fn spare_heartbeat(&self) -> Heartbeat {
        self.hosts.spare_heartbeat()
    }

    /// Every known host with its current health, ordered by id.
    pub fn hosts(&self) -> Vec<HostView> {
        self.hosts.list()
    }

    /// Every known host's id, ordered.
    pub fn host_ids(&self) -> Vec<String> {
        self.hosts.ids()
    }

    /// One page of the hosts a query selects (`GET /api/v1/hosts`, the Devices page).
    pub fn hosts_page(&self, query: &HostQuery) -> HostsPage {
        self.hosts.page(query)
    }

    /// Hosts per health state and GPUs on healthy hosts.
    pub fn fleet_counts(&self) -> FleetCounts {
        self.hosts.counts()
    }

    /// One host's GPUs over the last hour or day, in buckets
    /// (`GET /api/v1/hosts/{id}/telemetry`, the Devices cards).
    pub async fn host_telemetry(
        &self,
        host_id: &str,
        window: TelemetryWindow,
    ) -> Result<HostTelemetry, EngineError> {
        self.hosts.telemetry(host_id, window).await
    }

    /// The load of the fleet's hosts over the last hour or day (the Dashboard).
    pub async fn fleet_telemetry(
        &self,
        window: TelemetryWindow,
    ) -> Result<FleetTelemetry, EngineError> {
        self.hosts.fleet_telemetry(window).await
    }

    /// Removes a disconnected host and everything stored about it.
    pub async fn remove_host(&self, host_id: &str) -> Result<(), EngineError> {
        self.hosts.remove(host_id).await
    }

    /// Re-derives health from silence and publishes hosts whose health
    /// changed, and the fleet's numbers if they changed (the health tick).
    pub fn refresh_health(&self) {
        self.hosts.refresh_health();
        self.hosts.publish_counts();
    }

    /// Writes hosts due for a snapshot to the database.
    pub async fn flush(&self) -> Result<usize, EngineError> {
        self.hosts.flush().await
    }

    /// Writes every changed host to the database.
    pub async fn flush_all(&self) -> Result<usize, EngineError> {
        self.hosts.flush_all().await
    }

    // ---- the launcher: catalog revisions and launches ---------------------

    /// The running catalog's YAML and revision.
    pub fn catalog(&self) -> CatalogView {
        self.launcher.view()
    }

    /// The forms of the running catalog's enabled tasks.
    pub fn catalog_tasks(&self) -> CatalogTasks {
        self.launcher.tasks()
    }

    /// Validates and saves a catalog (`saved_by`: who, e.g. `api key`);
    /// identical content creates no revision, an invalid one changes nothing
    /// (`InvalidCatalog` lists every problem).
    pub async fn save_catalog(
        &self,
        content: &str,
        saved_by: &str,
    ) -> Result<CatalogSaved, EngineError> {
        self.launcher.save(content, "api", saved_by).await
    }

    /// Saves the `--catalog` file if it differs from the newest revision.
    pub async fn load_catalog_file(
        &self,
        path: &std::path::Path,
    ) -> Result<CatalogSaved, EngineError> {
        self.launcher.load_file(path).await
    }

    /// Every catalog revision, newest first.
    pub async fn catalog_revisions(&self) -> Result<Vec<CatalogRevision>, EngineError> {
        self.launcher.revisions().await
    }

    /// One catalog revision with its content.
    pub async fn catalog_revision(&self, id: i64) -> Result<CatalogRevisionContent, EngineError> {
        self.launcher.revision(id).await
    }

    /// A unified diff between two revisions.
    pub async fn diff_catalog_revisions(
        &self,
        from: i64,
        to: i64,
    ) -> Result<CatalogDiff, EngineError> {
        self.launcher.diff(from, to).await
    }

    /// Saves an old revision's content as a new revision.
    pub async fn restore_catalog_revision(
        &self,
        id: i64,
        saved_by: &str,
    ) -> Result<CatalogSaved, EngineError> {
        self.launcher.restore(id, saved_by).await
    }

    /// Launches a catalog task: one job per run of its sweep (or, with
    /// `preview`, only the planned argv).
    pub async fn launch(&self, req: LaunchRequest) -> Result<LaunchResult, EngineError> {
        self.launcher.launch(req, &self.scheduler).await
    }

    /// Which task, revision and values launched a job.
    pub async fn job_launch(&self, job_id: i64) -> Result<JobLaunch, EngineError> {
        self.launcher.job_launch(job_id).await
    }

    // ---- jobs: what users do ----------------------------------------------

    /// The sweep cap, for previews.
    pub fn sweep_limits(&self) -> SweepLimits {
        self.scheduler.sweep_limits()
    }

    /// Parses `yaml`, expands its grid and queues one job per point.
    pub async fn submit(
        &self,
        yaml: &str,
        options: SubmitOptions,
    ) -> Result<SubmitResult, EngineError> {
        self.scheduler.submit(yaml, options).await
    }

    /// Jobs matching `filter`, newest first; queued ones say why they wait.
    pub async fn jobs(&self, filter: JobFilter) -> Result<Vec<JobView>, EngineError> {
        self.scheduler.jobs(filter, &self.hosts).await
    }

    /// One job with its config and attempts.
    pub async fn job(&self, id: i64) -> Result<JobDetail, EngineError> {
        self.scheduler.job(id, &self.hosts).await
    }

    /// Cancels a job (its agent stops a running one).
    pub async fn cancel_job(&self, id: i64) -> Result<JobView, EngineError> {
        self.scheduler.cancel_job(id).await
    }

    /// Changes a queued job's priority.
    pub async fn set_priority(&self, id: i64, priority: Priority) -> Result<JobView, EngineError> {
        self.scheduler.set_priority(id, priority).await
    }

    /// Queues a new job with a finished job's exact config and command.
    pub async fn rerun_job(&self, id: i64) -> Result<JobView, EngineError> {
        self.scheduler.rerun_job(id, false).await
    }

    /// Queues a failed, cancelled or lost job again as its next attempt,
    /// starting from the newest attempt's synced files (its checkpoints);
    /// refused with a reason when there is nothing to resume.
    pub async fn resume_job(&self, id: i64) -> Result<JobView, EngineError> {
        let view = self.scheduler.job_view(id).await?;
        let next = AttemptRef {
            job_id: id,
            attempt: view.attempt + 1,
        };
        let resumable = matches!(
            view.status,
            JobStatus::Failed | JobStatus::Cancelled | JobStatus::Lost
        );
        if resumable && view.attempt > 0 && self.files.resume_source(next).await?.is_none() {
            return Err(EngineError::NotResumable {
                id,
                why: "none of its attempts synced any run files (checkpoints) to resume from; \
                      re-run it to start afresh"
                    .into(),
            });
        }
        self.scheduler.resume_job(id).await
    }

    /// Queues a new job that runs a finished job's exact code too: its
    /// agent syncs the old job's manifest, not the active versions.
    pub async fn rerun_job_exactly(&self, id: i64) -> Result<JobView, EngineError> {
        self.components.job_manifest(id).await?;
        self.scheduler.rerun_job(id, true).await
    }

    /// Up to `max` bytes of a job's output from `offset`.
    pub async fn read_log(
        &self,
        id: i64,
        attempt: Option<u32>,
        offset: u64,
        max: usize,
    ) -> Result<LogRead, EngineError> {
        self.scheduler.read_log(id, attempt, offset, max).await
    }

    /// Told after every log append anywhere; followers filter by attempt.
    pub fn log_updates(&self) -> tokio::sync::broadcast::Receiver<LogAppended> {
        self.scheduler.log_updates()
    }

    // ---- jobs: what agents do ---------------------------------------------

    /// The agent's long-poll for work and stop orders.
    pub async fn poll(&self, req: PollRequest) -> Result<PollResponse, EngineError> {
        let mut response = self.scheduler.poll(req, &self.hosts).await?;
        self.models.attach_serve_specs(&mut response).await?;
        for later in response.assign.iter().filter(|a| a.resume) {
            // Before its agent hears of it: nothing it logs comes earlier.
            self.metrics.attempt_resumes(later.job_id).await;
        }
        Ok(response)
    }

    /// The agent started an attempt's process.
    pub async fn attempt_started(
        &self,
        at: AttemptRef,
        report: StartedReport,
    ) -> Result<(), EngineError> {
        self.scheduler.attempt_started(at, report).await
    }

    /// Appends an attempt's output at `offset`; metric lines in it are recorded.
    pub async fn append_log(
        &self,
        at: AttemptRef,
        offset: u64,
        data: &[u8],
    ) -> Result<u64, EngineError> {
        self.scheduler
            .append_log(at, offset, data, &self.metrics)
            .await
    }

    /// An attempt ended.
    pub async fn attempt_finished(
        &self,
        at: AttemptRef,
        report: FinishedReport,
    ) -> Result<(), EngineError> {
        self.scheduler
            .attempt_finished(at, report, &self.metrics)
            .await
    }

    /// Agent polls being answered or held open right now.
    pub fn held_polls(&self) -> usize {
        self.scheduler.held_polls()
    }

    /// Marks attempts with expired leases lost (the background does this).
    pub async fn expire_leases(&self) {
        self.scheduler.expire_leases().await;
    }

    /// Publishes queued jobs whose reason for waiting changed (the background does this).
    pub async fn refresh_waiting_reasons(&self) {
        self.scheduler.refresh_waiting_reasons(&self.hosts).await;
    }

    // ---- run files: what agents send --------------------------------------

    /// The synced files of the newest earlier attempt, for a later attempt
    /// to resume from (an empty list: nothing to resume).
    pub async fn resume_files(&self, at: AttemptRef) -> Result<ResumeFiles, EngineError> {
        self.files.resume_files_for_agent(at, &self.scheduler).await
    }

    /// Where one of the files a later attempt resumes from is, and its size.
    pub async fn locate_resume_file(
        &self,
        at: AttemptRef,
        path: &str,
    ) -> Result<(PathBuf, u64), EngineError> {
        self.files
            .resume_file_for_agent(at, path, &self.scheduler)
            .await
    }

    /// Every file and unfinished upload the server has of an attempt.
    pub async fn sync_status(&self, at: AttemptRef) -> Result<SyncStatus, EngineError> {
        self.files.sync_status(at, &self.scheduler).await
    }

    /// Appends a chunk to an append run file; returns its size after.
    pub async fn append_run_file(
        &self,
        at: AttemptRef,
        path: &str,
        q: &AppendQuery,
        data: &[u8],
    ) -> Result<u64, EngineError> {
        self.files
            .append_from_agent(at, path, q, data, &self.scheduler, &self.metrics)
            .await
    }

    /// Receives one chunk of a whole-file upload.
    pub async fn upload_run_file_chunk(
        &self,
        at: AttemptRef,
        path: &str,
        q: &UploadQuery,
        data: &[u8],
    ) -> Result<UploadAck, EngineError> {
        self.files
            .upload_from_agent(at, path, q, data, &self.scheduler, &self.metrics)
            .await
    }

    // ---- metrics ----------------------------------------------------------

    /// Records metric points of a job.
    pub async fn ingest_metrics(
        &self,
        job_id: i64,
        points: &[MetricPoint<'_>],
    ) -> Result<usize, EngineError> {
        self.metrics.ingest(job_id, points).await
    }

    /// Every metric key of a job with its summary.
    pub async fn metric_keys(&self, job_id: i64) -> Result<Vec<MetricSummary>, EngineError> {
        self.metrics.keys(job_id).await
    }

    /// One series in at most `max_points` buckets over steps `[from, to]`.
    pub async fn metric_series(
        &self,
        job_id: i64,
        key: &str,
        max_points: u32,
        from: Option<f64>,
        to: Option<f64>,
    ) -> Result<MetricSeries, EngineError> {
        self.metrics.series(job_id, key, max_points, from, to).await
    }

    /// The latest progress of every job that reported some.
    pub fn progress(&self) -> Vec<RunProgress> {
        self.metrics.progress()
    }

    // ---- results ----------------------------------------------------------

    /// Every project with its run counts (archived runs left out unless
    /// `archived` asks for them).
    pub async fn projects(
        &self,
        archived: ArchivedFilter,
    ) -> Result<Vec<ProjectSummary>, EngineError> {
        self.results.projects(archived).await
    }

    /// One page of a project's runs table, with origin and sync state.
    pub async fn runs_page(&self, q: &RunsQuery) -> Result<RunsPage, EngineError> {
        self.results.runs_page(q, &self.hosts).await
    }

    /// The runs table as CSV.
    pub async fn runs_csv(&self, q: &RunsQuery) -> Result<String, EngineError> {
        self.results.runs_csv(q, &self.hosts).await
    }

    /// Replaces a run's notes and tags.
    pub async fn set_run_notes(
        &self,
        job_id: i64,
        notes: RunNotes,
    ) -> Result<RunNotes, EngineError> {
        self.results.set_run_notes(job_id, notes).await
    }

    /// Runs side by side: curves, best values, parameters.
    pub async fn compare_runs(
        &self,
        ids: &[i64],
        max_points: u32,
    ) -> Result<RunComparison, EngineError> {
        self.results
            .compare_runs(ids, max_points, &self.metrics)
            .await
    }

    fn run_file_sources(&self) -> RunFileSources<'_> {
        RunFileSources {
            files: &self.files,
            logs: self.scheduler.logs(),
            imports: &self.imports,
        }
    }

    /// A run's files with size and xxh3.
    pub async fn run_files(&self, job_id: i64) -> Result<Vec<FileEntry>, EngineError> {
        self.results
            .run_files(job_id, &self.run_file_sources())
            .await
    }

    /// Where a run file is on disk, and its size (for downloads).
    pub async fn locate_run_file(
        &self,
        job_id: i64,
        path: &str,
    ) -> Result<(PathBuf, u64), EngineError> {
        self.results
            .locate_run_file(job_id, path, &self.run_file_sources())
            .await
    }

    /// The start of a run file (for previews).
    pub async fn read_run_file(
        &self,
        job_id: i64,
        path: &str,
        max_bytes: usize,
    ) -> Result<RunFileSlice, EngineError> {
        self.results
            .read_run_file(job_id, path, max_bytes, &self.run_file_sources())
            .await
    }

    /// Lines of a run's files that could not be indexed.
    pub async fn run_problems(&self, job_id: i64) -> Result<Vec<RunProblem>, EngineError> {
        self.results.run_problems(job_id).await
    }

    // ---- results: detail, archive, purge (issue 11) -------------------------

    /// Everything about one run: job and config, last and best metrics,
    /// notes and tags, files, origin and sync state.
    pub async fn run_detail(&self, job_id: i64) -> Result<RunDetail, EngineError> {
        self.results
            .run_detail(job_id, &self.hosts, &self.metrics, &self.run_file_sources())
            .await
    }

    /// A run's archive state, origin and sync state.
    pub async fn run_state(&self, job_id: i64) -> Result<RunState, EngineError> {
        self.results.run_state(job_id, &self.hosts).await
    }

    /// A run's notes and tags.
    pub async fn run_notes(&self, job_id: i64) -> Result<RunNotes, EngineError> {
        self.results.run_notes(job_id).await
    }

    /// The id of the newest run named `name` in `project` (`RunNotFound`).
    pub async fn run_id_by_name(&self, project: &str, name: &str) -> Result<i64, EngineError> {
        self.results.run_id_by_name(project, name).await
    }

    /// Archives a finished run: hidden by default, files kept. Idempotent;
    /// a queued, running or lost job is `RunActive`.
    pub async fn archive_run(&self, job_id: i64) -> Result<(), EngineError> {
        self.results.archive_run(job_id).await
    }

    /// Restores an archived run. Idempotent.
    pub async fn restore_run(&self, job_id: i64) -> Result<(), EngineError> {
        self.results.restore_run(job_id).await
    }

    /// Deletes runs archived at least `older_than_ms` ago with everything
    /// stored about them (imported runs are skipped and listed).
    pub async fn purge_archived_runs(
        &self,
        older_than_ms: i64,
    ) -> Result<PurgeReport, EngineError> {
        self.results
            .purge_archived_runs(older_than_ms, &self.metrics, &self.run_file_sources())
            .await
    }

    // ---- components -------------------------------------------------------

    /// Every component path with versions (of `category` if given).
    pub async fn components(
        &self,
        category: Option<&str>,
    ) -> Result<Vec<ComponentSummary>, EngineError> {
        self.components.list(category).await
    }

    /// The versions of `category/name.py`, newest first.
    pub async fn component_versions(
        &self,
        category: &str,
        name: &str,
        include_content: bool,
    ) -> Result<Vec<ComponentVersion>, EngineError> {
        self.components
            .versions(category, name, include_content)
            .await
    }

    /// The version with `hash`, with its code.
    pub async fn component_by_hash(&self, hash: &str) -> Result<ComponentVersion, EngineError> {
        self.components.by_hash(hash).await
    }

    /// Stored content by hash (a version or a `code:` file).
    pub async fn component_content(&self, hash: &str) -> Result<String, EngineError> {
        self.components.content(hash).await
    }

    /// Adds a version (recorded as `actor`'s).
    pub async fn upload_component(
        &self,
        req: &UploadRequest,
        actor: &Actor,
    ) -> Result<UploadResponse, EngineError> {
        self.components.upload(req, actor).await
    }

    /// Makes a version its path's active one (recorded as `actor`'s).
    pub async fn activate_component(
        &self,
        req: &ActivateRequest,
        actor: &Actor,
    ) -> Result<ComponentVersion, EngineError> {
        self.components.activate(req, actor).await
    }

    /// Two stored contents and the unified diff between them.
    pub async fn diff_components(&self, from: &str, to: &str) -> Result<DiffResponse, EngineError> {
        self.components.diff(from, to).await
    }

    /// Registers the components dir's new content.
    pub async fn scan_components(&self, actor: &Actor) -> Result<ScanReport, EngineError> {
        self.components.scan(actor).await
    }

    /// The code a job's newest synced attempt ran with.
    pub async fn job_manifest(&self, job_id: i64) -> Result<JobManifest, EngineError> {
        self.components.job_manifest(job_id).await
    }

    /// CVLab-Kit's manifest by experiment id (a job id, a run name, or its own id).
    pub async fn experiment_manifest(&self, uid: &str) -> Result<ExperimentManifest, EngineError> {
        self.components.experiment_manifest(uid).await
    }

    /// Saves CVLab-Kit's manifest under its experiment id.
    pub async fn save_experiment_manifest(
        &self,
        uid: &str,
        components: &std::collections::BTreeMap<String, String>,
    ) -> Result<usize, EngineError> {
        self.components
            .save_experiment_manifest(uid, components)
            .await
    }

    /// Component conflicts for people, newest first.
    pub async fn notices(&self, open_only: bool) -> Result<Vec<ConflictNotice>, EngineError> {
        self.components.notices(open_only).await
    }

    /// A person's answer to a conflict, carried out at the host's next sync.
    pub async fn answer_notice(
        &self,
        id: i64,
        choice: Resolution,
        actor: &Actor,
    ) -> Result<ConflictNotice, EngineError> {
        self.components.answer(id, choice, actor).await
    }

    /// An agent's sync before attempt `at` starts: the plan, recorded as the
    /// attempt's manifest (renews the lease; refused for a superseded attempt).
    pub async fn sync_components(
        &self,
        at: AttemptRef,
        req: SyncRequest,
    ) -> Result<SyncPlan, EngineError> {
        self.scheduler.renew_current(at).await?;
        self.components.plan(at, req).await
    }

    /// A shell's sync plan for what a working directory has (nothing recorded).
    pub async fn preview_component_sync(&self, req: SyncRequest) -> Result<SyncPlan, EngineError> {
        self.components.preview(req).await
    }

    /// A worker's copy that attempt `at`'s plan asked for.
    pub async fn store_component_copy(
        &self,
        at: AttemptRef,
        path: &str,
        q: &CopyUploadQuery,
        content: &[u8],
    ) -> Result<String, EngineError> {
        self.scheduler.renew_current(at).await?;
        self.components.store_copy(at, path, q, content).await
    }

    // ---- imports ----------------------------------------------------------

    /// The trees given with `--import-dir`.
    pub fn import_dirs(&self) -> &[PathBuf] {
        self.imports.dirs()
    }

    /// Indexes new and changed runs of every import tree.
    pub async fn scan_imports(&self) -> ImportReport {
        self.imports.scan(&self.metrics).await
    }

    /// Reads every run of every import tree again (the "re-index" button).
    pub async fn reindex_imports(&self) -> Result<ImportReport, EngineError> {
        self.imports.reindex(&self.metrics).await
    }

    // ---- tracking (the MLflow API) ------------------------------------------

    /// Experiment `id` (a project), as the wire names it (`"3"`).
    pub async fn experiment(&self, id: &str) -> Result<Experiment, EngineError> {
        self.tracking.experiment(parse_experiment_id(id)?).await
    }

    /// The experiment (project) named `name`.
    pub async fn experiment_by_name(&self, name: &str) -> Result<Experiment, EngineError> {
        self.tracking.experiment_by_name(name).await
    }

    /// Creates experiment `name`; returns its id.
    pub async fn create_experiment(
        &self,
        name: &str,
        tags: &[(String, String)],
    ) -> Result<i64, EngineError> {
        self.tracking.create_experiment(name, tags).await
    }

    /// Every experiment passing `filter` (MLflow's filter language).
    pub async fn search_experiments(
        &self,
        include_active: bool,
        include_deleted: bool,
        filter: &str,
    ) -> Result<Vec<Experiment>, EngineError> {
        self.tracking
            .experiments(include_active, include_deleted, filter)
            .await
    }

    /// Renames experiment `id` and its project.
    pub async fn rename_experiment(&self, id: &str, new_name: &str) -> Result<(), EngineError> {
        self.tracking
            .rename_experiment(parse_experiment_id(id)?, new_name)
            .await
    }

    /// Deletes (`true`) or restores experiment `id`.
    pub async fn set_experiment_deleted(&self, id: &str, deleted: bool) -> Result<(), EngineError> {
        self.tracking
            .set_experiment_deleted(parse_experiment_id(id)?, deleted)
            .await
    }

    /// Sets (`Some`) or deletes a tag of experiment `id`.
    pub async fn set_experiment_tag(
        &self,
        id: &str,
        key: &str,
        value: Option<&str>,
    ) -> Result<(), EngineError> {
        self.tracking
            .set_experiment_tag(parse_experiment_id(id)?, key, value)
            .await
    }

    /// Creates a run (a job the scheduler never sees).
    pub async fn create_tracked_run(&self, new: NewRun) -> Result<TrackedRun, EngineError> {
        self.tracking.create_run(new, &self.bus).await
    }

    /// Run `id` as MLflow shows it.
    pub async fn tracked_run(&self, id: i64) -> Result<TrackedRun, EngineError> {
        self.tracking.run(id, &self.metrics).await
    }

    /// Updates run `id` (status and end time only for client-created runs).
    pub async fn update_tracked_run(&self, id: i64, update: RunUpdate) -> Result<(), EngineError> {
        self.tracking.update_run(id, update, &self.bus).await
    }

    /// Logs params, tags and metrics into run `id`.
    pub async fn log_tracked_batch(&self, id: i64, batch: TrackedBatch) -> Result<(), EngineError> {
        self.tracking
            .log_batch(id, batch, &self.metrics, &self.bus)
            .await
    }

    /// Deletes tag `key` of run `id`.
    pub async fn delete_run_tag(&self, id: i64, key: &str) -> Result<(), EngineError> {
        self.tracking.delete_run_tag(id, key).await
    }

    /// Runs passing a search, a page at a time.
    pub async fn search_tracked_runs(&self, q: &RunSearch) -> Result<RunSearchPage, EngineError> {
        self.tracking.search_runs(q, &self.metrics).await
    }

    /// A page of metric `key`'s points of run `id`.
    pub async fn metric_history(
        &self,
        id: i64,
        key: &str,
        max_results: Option<u64>,
        page_token: &Option<String>,
    ) -> Result<MetricHistory, EngineError> {
        self.tracking
            .metric_history(id, key, max_results, page_token, &self.metrics)
            .await
    }

    /// Stores artifact `path` of run `id` from `body`; returns its size.
    pub async fn put_artifact(
        &self,
        id: i64,
        path: &str,
        body: impl tokio::io::AsyncRead + Unpin + Send,
    ) -> Result<u64, EngineError> {
        self.tracking
            .put_artifact(id, path, body, &self.files)
            .await
    }

    /// Where artifact `path` of run `id` is on disk, and its size.
    pub async fn locate_artifact(
        &self,
        id: i64,
        path: &str,
    ) -> Result<(PathBuf, u64), EngineError> {
        self.tracking.locate_artifact(id, path, &self.files).await
    }

    /// Artifact directory `dir` of run `id`; `None` if it is a file or absent.
    pub async fn list_artifacts(
        &self,
        id: i64,
        dir: &str,
    ) -> Result<Option<Vec<DirEntry>>, EngineError> {
        self.tracking.list_artifacts(id, dir, &self.files).await
    }
    // ---- TensorBoard import -----------------------------------------------

    /// Imports a TensorBoard log dir on this machine into `project` (default:
    /// the directory's name); importing it again reads only new records.
    pub async fn import_tensorboard(
        &self,
        dir: &std::path::Path,
        project: Option<&str>,
    ) -> Result<ImportReport, EngineError> {
        self.imports
            .import_tensorboard(dir, project, &self.metrics)
            .await
    }

    // ---- notifications ----------------------------------------------------

    /// Saves a webhook (400 `bad_webhook` naming the field that is wrong).
    pub async fn add_webhook(&self, new: &NewWebhook) -> Result<WebhookView, EngineError> {
        self.notifier.add_webhook(new).await
    }

    /// Every webhook, each with its newest delivery.
    pub async fn webhooks(&self) -> Result<Vec<WebhookView>, EngineError> {
        self.notifier.webhooks().await
    }

    /// Deletes a webhook and its deliveries.
    pub async fn delete_webhook(&self, id: i64) -> Result<(), EngineError> {
        self.notifier.delete_webhook(id).await
    }

    /// Sends a test message to a webhook now, once; the delivery as it ended.
    pub async fn test_webhook(&self, id: i64) -> Result<DeliveryView, EngineError> {
        self.notifier.test_webhook(id).await
    }

    /// The newest deliveries (of one webhook, or of all).
    pub async fn webhook_deliveries(
        &self,
        webhook_id: Option<i64>,
        limit: Option<u32>,
    ) -> Result<Vec<DeliveryView>, EngineError> {
        self.notifier.deliveries(webhook_id, limit).await
    }

    // ---- Prometheus -------------------------------------------------------

    /// `GET /metrics`: the fleet, the queue and the server's counters in
    /// Prometheus's text format ([`crate::PROMETHEUS_CONTENT_TYPE`]).
    pub async fn prometheus(&self) -> Result<String, EngineError> {
        let notify = self.notifier.counters();
        let page = prometheus::Inputs {
            version: env!("CARGO_PKG_VERSION"),
            uptime_secs: self
                .clock()
                .now()
                .duration_since(self.started)
                .as_secs_f64(),
            hosts: self.hosts.snapshot(),
            job_counts: self.store.job_counts().await?,
            queue_wait: self.scheduler.queue_wait(),
            run_durations: self.scheduler.run_durations(),
            heartbeats: self.heartbeats.get(),
            heartbeats_refused: self.heartbeats_refused.get(),
            metric_points: self.metrics.points_recorded(),
            deliveries_delivered: notify.delivered.get(),
            deliveries_failed: notify.failed.get(),
            attempts_ok: notify.attempts_ok.get(),
            attempts_failed: notify.attempts_failed.get(),
            notifications_dropped: notify.dropped.get(),
            deliveries_in_flight: notify.in_flight.load(std::sync::atomic::Ordering::Relaxed),
        };
        // A large fleet is hundreds of thousands of lines: written off the
        // async workers, which serve heartbeats.
        tokio::task::spawn_blocking(move || prometheus::render(&page))
            .await
            .map_err(|e| EngineError::Io {
                path: PathBuf::from("/metrics"),
                source: std::io::Error::other(e.to_string()),
            })
    }

    // ---- the model registry (issue 14) -------------------------------------

    /// The runs of a project (or one sweep) ranked by their best value of
    /// `metric`; runs without it are listed as skipped.
    pub async fn best_run(
        &self,
        project: &str,
        sweep: Option<i64>,
        metric: &str,
        mode: BestMode,
    ) -> Result<BestRunReport, EngineError> {
        self.results
            .best_run(project, sweep, metric, mode, &self.metrics)
            .await
    }

    /// Every model with its version count and LATEST pointers.
    pub async fn models(&self) -> Result<Vec<ModelSummary>, EngineError> {
        self.models.list().await
    }

    /// A model's versions per stage and each stage's LATEST, and its
    /// deployments (`serving`).
    pub async fn model(&self, name: &str) -> Result<ModelView, EngineError> {
        let mut view = self.models.model(name).await?;
        view.serving = self.models.serving_views(name, &self.scheduler).await?;
        Ok(view)
    }

    fn run_side(&self) -> RunSide<'_> {
        RunSide {
            results: &self.results,
            sources: self.run_file_sources(),
            components: &self.components,
        }
    }

    /// Registers a version of model `name` from a run's files (the
    /// checkpoint unless `files` are named) and its resolved config.
    pub async fn register_model_from_run(
        &self,
        name: &str,
        req: &RegisterFromRun,
        registered_by: &str,
    ) -> Result<ModelVersionView, EngineError> {
        self.models
            .register_from_run(name, req, None, registered_by, &self.run_side())
            .await
    }

    /// Picks the best run (as [`Engine::best_run`]) and registers it.
    pub async fn publish_best(
        &self,
        name: &str,
        req: &PublishBest,
        registered_by: &str,
    ) -> Result<PublishedBest, EngineError> {
        self.models
            .publish_best(name, req, registered_by, &self.run_side(), &self.metrics)
            .await
    }

    /// An empty upload draft; files are streamed into it, then
    /// [`Engine::commit_model_upload`] makes it a version (dropped, it is
    /// removed).
    pub async fn begin_model_upload(&self, name: &str) -> Result<ModelDraft, EngineError> {
        crate::models::check_model_name(name)?;
        self.models.draft().await
    }

    /// Makes an upload draft a version of model `name`.
    pub async fn commit_model_upload(
        &self,
        name: &str,
        draft: ModelDraft,
        meta: &UploadVersion,
        registered_by: &str,
    ) -> Result<ModelVersionView, EngineError> {
        self.models
            .commit_upload(name, draft, meta, registered_by)
            .await
    }

    /// Copies a version to the other stage, with its provenance.
    pub async fn promote_model_version(
        &self,
        name: &str,
        version: &str,
        req: &PromoteRequest,
        registered_by: &str,
    ) -> Result<ModelVersionView, EngineError> {
        self.models.promote(name, version, req, registered_by).await
    }

    /// Moves a stage's LATEST to `version`.
    pub async fn set_model_latest(
        &self,
        name: &str,
        stage: &str,
        version: &str,
    ) -> Result<(), EngineError> {
        self.models.set_latest(name, stage, version).await
    }

    /// A version's manifest (`version` may be `latest`).
    pub async fn model_manifest(
        &self,
        name: &str,
        stage: &str,
        version: &str,
    ) -> Result<ModelManifest, EngineError> {
        self.models.manifest(name, stage, version).await
    }

    /// A version's `bundle.tar.gz` on disk, its size and hash.
    pub async fn model_bundle(
        &self,
        name: &str,
        stage: &str,
        version: &str,
    ) -> Result<ModelDownload, EngineError> {
        self.models.bundle(name, stage, version).await
    }

    /// A version's `manifest.json` on disk.
    pub async fn model_manifest_file(
        &self,
        name: &str,
        stage: &str,
        version: &str,
    ) -> Result<ModelDownload, EngineError> {
        self.models.manifest_file(name, stage, version).await
    }

    /// One payload file of a version on disk.
    pub async fn model_file(
        &self,
        name: &str,
        stage: &str,
        version: &str,
        path: &str,
    ) -> Result<ModelDownload, EngineError> {
        self.models.file(name, stage, version, path).await
    }

    /// The entries of a version's payload directory (`None`: a file or
    /// nothing there).
    pub async fn model_payload_entries(
        &self,
        name: &str,
        stage: &str,
        version: &str,
        dir: &str,
    ) -> Result<Option<Vec<DirEntry>>, EngineError> {
        self.models.payload_entries(name, stage, version, dir).await
    }

    // ---- MLflow's model registry over the models domain ---------------------

    /// A model as MLflow's registry shows it (numbered dev versions,
    /// description, tags, aliases).
    pub async fn registered_model(&self, name: &str) -> Result<RegisteredModel, EngineError> {
        self.models.registered_model(name).await
    }

    /// Models matching an MLflow search filter, by name.
    pub async fn search_registered_models(
        &self,
        filter: &str,
    ) -> Result<Vec<RegisteredModel>, EngineError> {
        self.models.search_registered_models(filter).await
    }

    /// MLflow-numbered versions matching an MLflow search filter.
    pub async fn search_registered_versions(
        &self,
        filter: &str,
    ) -> Result<Vec<RegisteredVersion>, EngineError> {
        self.models.search_registered_versions(filter).await
    }

    /// Creates a model with no versions.
    pub async fn create_registered_model(
        &self,
        name: &str,
        description: &str,
        tags: &[(String, String)],
    ) -> Result<RegisteredModel, EngineError> {
        self.models
            .create_registered_model(name, description, tags)
            .await
    }

    /// Deletes a model that has no versions.
    pub async fn delete_registered_model(&self, name: &str) -> Result<(), EngineError> {
        self.models.delete_registered_model(name).await
    }

    /// Sets a model's description.
    pub async fn describe_registered_model(
        &self,
        name: &str,
        description: &str,
    ) -> Result<RegisteredModel, EngineError> {
        self.models
            .describe_registered_model(name, description)
            .await
    }

    /// Sets (`Some`) or deletes (`None`) a model's tag.
    pub async fn tag_registered_model(
        &self,
        name: &str,
        key: &str,
        value: Option<&str>,
    ) -> Result<(), EngineError> {
        self.models.tag_registered_model(name, key, value).await
    }

    /// MLflow's version `number` of a model (its dev version `v000N`).
    pub async fn registered_version(
        &self,
        name: &str,
        number: u64,
    ) -> Result<RegisteredVersion, EngineError> {
        self.models.registered_version(name, number).await
    }

    /// Registers a model's next dev version from a run's artifact directory.
    pub async fn register_mlflow_version(
        &self,
        name: &str,
        req: &NewMlflowVersion,
        registered_by: &str,
    ) -> Result<RegisteredVersion, EngineError> {
        self.models
            .register_mlflow_version(name, req, registered_by, &self.run_side())
            .await
    }

    /// Sets a version's description.
    pub async fn describe_registered_version(
        &self,
        name: &str,
        number: u64,
        description: &str,
    ) -> Result<RegisteredVersion, EngineError> {
        self.models
            .describe_registered_version(name, number, description)
            .await
    }

    /// Sets (`Some`) or deletes (`None`) a version's tag.
    pub async fn tag_registered_version(
        &self,
        name: &str,
        number: u64,
        key: &str,
        value: Option<&str>,
    ) -> Result<(), EngineError> {
        self.models
            .tag_registered_version(name, number, key, value)
            .await
    }

    /// Labels a version with an MLflow stage (`Production` also promotes it
    /// to release and moves release's LATEST).
    pub async fn transition_registered_version(
        &self,
        name: &str,
        number: u64,
        stage: MlflowStage,
        archive_existing: bool,
        registered_by: &str,
    ) -> Result<RegisteredVersion, EngineError> {
        self.models
            .transition_registered_version(name, number, stage, archive_existing, registered_by)
            .await
    }

    /// Points an alias at a version.
    pub async fn set_registered_alias(
        &self,
        name: &str,
        alias: &str,
        number: u64,
    ) -> Result<(), EngineError> {
        self.models.set_registered_alias(name, alias, number).await
    }

    /// Removes an alias.
    pub async fn delete_registered_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<(), EngineError> {
        self.models.delete_registered_alias(name, alias).await
    }

    /// The version an alias names.
    pub async fn registered_version_by_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<RegisteredVersion, EngineError> {
        self.models.registered_version_by_alias(name, alias).await
    }

    /// The FTP mirror's target and a model's mirror tasks, newest first.
    pub async fn model_mirror(&self, name: &str) -> Result<MirrorView, EngineError> {
        self.models.model(name).await?;
        self.mirror.view(name).await
    }

    // ---- the model registry: serving --------------------------------------

    /// Serves the stage's LATEST as a job (stopping what served it before).
    pub async fn serve_model(
        &self,
        name: &str,
        stage: &str,
        req: &ServeRequest,
    ) -> Result<ServingView, EngineError> {
        self.models
            .serve(name, stage, req, &self.scheduler, &self.bus)
            .await
    }

    /// Stops the stage's deployment.
    pub async fn stop_serving(&self, name: &str, stage: &str) -> Result<ServingView, EngineError> {
        self.models
            .stop_serving(name, stage, &self.scheduler, &self.bus)
            .await
    }

    /// A model's deployments (live ones and the last stopped one per stage).
    pub async fn model_serving(&self, name: &str) -> Result<Vec<ServingView>, EngineError> {
        self.models.serving_views(name, &self.scheduler).await
    }

    /// Where the proxy sends a request for the stage now.
    pub async fn serving_target(
        &self,
        name: &str,
        stage: &str,
    ) -> Result<ServingTarget, EngineError> {
        self.models
            .serving_target(name, stage, &self.scheduler)
            .await
    }

    /// An agent's serving attempt answers its health path at `address:port`.
    pub async fn serving_reported(
        &self,
        at: AttemptRef,
        address: &str,
        port: u16,
    ) -> Result<(), EngineError> {
        self.models
            .serving_reported(at, address, port, &self.scheduler, &self.bus)
            .await
    }
}
