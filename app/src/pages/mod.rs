//! One file per page; pages compose components.

mod dashboard;
mod devices;
mod login;
mod not_built;
mod not_found;
mod settings;

pub use dashboard::DashboardPage;
pub use devices::DevicesPage;
pub use login::LoginPage;
pub use not_built::NotBuiltPage;
pub use not_found::NotFoundPage;
pub use settings::SettingsPage;
