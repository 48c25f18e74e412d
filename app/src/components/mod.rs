//! Small UI pieces, each named after what it shows.

pub mod config_editor;
pub mod config_problems;
pub mod device_card;
pub mod gpu_table;
pub mod job_actions;
pub mod job_duration;
pub mod job_log;
pub mod job_status;
pub mod job_table;
pub mod layout;
pub mod live_status;
pub mod meter;
pub mod relative_time;
pub mod run_preview;
pub mod stat_card;
pub mod theme_toggle;
pub mod with_fleet;
