//! Small UI pieces, each named after what it shows.

pub mod config_editor;
pub mod config_problems;
pub mod device_card;
pub mod final_values;
pub mod gpu_table;
pub mod job_actions;
pub mod job_duration;
pub mod job_log;
pub mod job_progress;
pub mod job_status;
pub mod job_table;
pub mod layout;
pub mod live_status;
pub mod meter;
pub mod metric_chart;
pub mod parallel_coords;
pub mod reindex_imports;
pub mod relative_time;
pub mod run_charts;
pub mod run_files;
pub mod run_notes;
pub mod run_preview;
pub mod runs_table;
pub mod stat_card;
pub mod theme_toggle;
pub mod with_fleet;
