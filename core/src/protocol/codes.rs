//! Every error code the REST API answers with (`{"code": …, "message": …}`),
//! in one table. Clients branch on these, never on messages: the agent on
//! `protocol_mismatch`, `unauthorized`, `superseded` and the sync codes,
//! pages on `job_not_found` versus `job_finished`.

/// The agent speaks a protocol version the server no longer accepts (426).
pub const PROTOCOL_MISMATCH: &str = "protocol_mismatch";
/// Missing or wrong API key (401).
pub const UNAUTHORIZED: &str = "unauthorized";
/// No such route (404).
pub const NOT_FOUND: &str = "not_found";
/// A request body that is not the JSON (or bytes) the route takes (400).
pub const BAD_BODY: &str = "bad_body";
/// A query string the route cannot read (400).
pub const BAD_QUERY: &str = "bad_query";
/// A job id in a URL that is not a positive integer (400).
pub const BAD_JOB_ID: &str = "bad_job_id";
/// An attempt number in a URL that is not a positive integer (400).
pub const BAD_ATTEMPT: &str = "bad_attempt";
/// A heartbeat with impossible values (400).
pub const INVALID_HEARTBEAT: &str = "invalid_heartbeat";
/// No host with that id (404).
pub const HOST_NOT_FOUND: &str = "host_not_found";
/// Only disconnected hosts may be removed (409).
pub const HOST_NOT_DISCONNECTED: &str = "host_not_disconnected";
/// The experiment YAML has mistakes (400).
pub const INVALID_CONFIG: &str = "invalid_config";
/// Neither the config nor the server names a command (400).
pub const NO_COMMAND: &str = "no_command";
/// A scheduling option or query value out of range (400).
pub const BAD_OPTION: &str = "bad_option";
/// No job with that id (404).
pub const JOB_NOT_FOUND: &str = "job_not_found";
/// The job already finished, so the action cannot apply (409).
pub const JOB_FINISHED: &str = "job_finished";
/// Only queued jobs can be re-prioritized (409).
pub const JOB_NOT_QUEUED: &str = "job_not_queued";
/// Only finished jobs can be re-run (409).
pub const JOB_NOT_FINISHED: &str = "job_not_finished";
/// *Resume* of a job that succeeded, still runs, or left no synced files.
pub const NOT_RESUMABLE: &str = "not_resumable";
/// A report from an attempt that is no longer current (409).
pub const SUPERSEDED: &str = "superseded";
/// An append whose offset is not the server's size (409; the body has `size`).
pub const OFFSET_MISMATCH: &str = "offset_mismatch";
/// A job's output passed the server's limit (413).
pub const LOG_TOO_LARGE: &str = "log_too_large";
/// A run-file path the server will not store (400).
pub const BAD_PATH: &str = "bad_path";
/// Bytes that do not hash to what the request named (422).
pub const HASH_MISMATCH: &str = "hash_mismatch";
/// A file or body past the server's limit (413).
pub const TOO_LARGE: &str = "too_large";
/// No such run file (404).
pub const FILE_NOT_FOUND: &str = "file_not_found";
/// A metric key or chart query parameter is invalid (400).
pub const BAD_METRIC_QUERY: &str = "bad_metric_query";
/// No such metric series (404).
pub const METRIC_NOT_FOUND: &str = "metric_not_found";
/// A component path or category the store will not hold (400).
pub const BAD_COMPONENT_PATH: &str = "bad_component_path";
/// Component content that is not UTF-8 text (400).
pub const BAD_CONTENT: &str = "bad_content";
/// No such component path, version or content hash (404).
pub const COMPONENT_NOT_FOUND: &str = "component_not_found";
/// No manifest for that job or experiment id (404).
pub const MANIFEST_NOT_FOUND: &str = "manifest_not_found";
/// No such conflict notification (404).
pub const NOTICE_NOT_FOUND: &str = "notice_not_found";
/// A copy the attempt's sync plan did not ask for (409).
pub const NOT_IN_PLAN: &str = "not_in_plan";
/// A scan on a server started without `--components-dir` (409).
pub const NO_COMPONENTS_DIR: &str = "no_components_dir";
// ---- tracking (the MLflow API; MLflow's own codes are mapped from these) ----
/// A tracking request with an invalid field (400; MLflow's INVALID_PARAMETER_VALUE).
pub const INVALID_PARAMETER_VALUE: &str = "invalid_parameter_value";
/// No such experiment (404).
pub const EXPERIMENT_NOT_FOUND: &str = "experiment_not_found";
/// An experiment of that name exists (409; MLflow's RESOURCE_ALREADY_EXISTS).
pub const EXPERIMENT_EXISTS: &str = "experiment_exists";
/// The run has no such tag (404).
pub const TAG_NOT_FOUND: &str = "tag_not_found";
/// Only finished runs can be archived (409): cancel a queued or running one first.
pub const RUN_ACTIVE: &str = "run_active";
/// No run with that name in that project (404, the web helper's routes).
pub const RUN_NOT_FOUND: &str = "run_not_found";
/// A TensorBoard import names no readable directory, or a bad project (400).
pub const BAD_IMPORT_DIR: &str = "bad_import_dir";
// ---- the launcher ----
/// A catalog that fails validation (400); the body lists every problem.
pub const INVALID_CATALOG: &str = "invalid_catalog";
/// No catalog revision with that id (404).
pub const REVISION_NOT_FOUND: &str = "revision_not_found";
/// No task of that type in the running catalog (400 on a launch).
pub const UNKNOWN_TASK: &str = "unknown_task";
/// Launch values a task's fields refuse (400): the message names each field.
pub const INVALID_LAUNCH: &str = "invalid_launch";
/// A job no catalog task launched (404 on `/jobs/{id}/launch`).
pub const NOT_LAUNCHED: &str = "not_launched";
/// A webhook that cannot be saved: a bad URL, kind, project or event name;
/// the message names the field (400).
pub const BAD_WEBHOOK: &str = "bad_webhook";
/// No webhook with that id (404).
pub const WEBHOOK_NOT_FOUND: &str = "webhook_not_found";
// ---- the model registry ----
/// A registry request with an invalid field (400): the message names it.
pub const INVALID_MODEL_REQUEST: &str = "invalid_model_request";
/// No model with that name (404).
pub const MODEL_NOT_FOUND: &str = "model_not_found";
/// The model's stage has no such version, or no LATEST yet (404).
pub const MODEL_VERSION_NOT_FOUND: &str = "model_version_not_found";
/// No such stage: stages are dev and release (404).
pub const STAGE_NOT_FOUND: &str = "stage_not_found";
/// The stage already has a version of that name; names are never reused (409).
pub const MODEL_VERSION_EXISTS: &str = "model_version_exists";
/// A model of that name exists already (409; MLflow's create).
pub const MODEL_EXISTS: &str = "model_exists";
/// A model with versions cannot be deleted: versions never are (409).
pub const MODEL_HAS_VERSIONS: &str = "model_has_versions";
/// The run lacks files the registration selected, or has no checkpoint (400).
pub const RUN_FILES_MISSING: &str = "run_files_missing";
/// No run with that project (404).
pub const PROJECT_NOT_FOUND: &str = "project_not_found";
/// No run of the project (or sweep) has a point of the metric (404).
pub const NO_BEST_RUN: &str = "no_best_run";
/// Nothing serves that model's stage (404).
pub const NOT_SERVING: &str = "not_serving";
/// The stage's server is starting and not healthy yet (503).
pub const SERVING_STARTING: &str = "serving_starting";
/// The stage's server did not answer the proxy (502).
pub const SERVING_UNREACHABLE: &str = "serving_unreachable";
/// Something failed inside the server; its log has the details (500).
pub const INTERNAL: &str = "internal";
