//! One file per page; pages compose components.

mod dashboard;
mod devices;
mod execute;
mod job;
mod login;
mod not_built;
mod not_found;
mod queue;
mod settings;

pub use dashboard::DashboardPage;
pub use devices::DevicesPage;
pub use execute::ExecutePage;
pub use job::JobPage;
pub use login::LoginPage;
pub use not_built::NotBuiltPage;
pub use not_found::NotFoundPage;
pub use queue::QueuePage;
pub use settings::SettingsPage;
