//! Small UI pieces, each named after what it shows.

pub mod device_card;
pub mod gpu_table;
pub mod layout;
pub mod live_status;
pub mod meter;
pub mod relative_time;
pub mod stat_card;
pub mod theme_toggle;
pub mod with_fleet;
