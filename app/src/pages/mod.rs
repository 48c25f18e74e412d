//! One file per page; pages compose components.

mod catalog;
mod compare;
mod components;
mod dashboard;
mod dashboard_activity;
mod devices;
mod execute;
mod job;
mod launch;
pub mod lazy;
mod login;
mod models;
mod not_found;
mod project;
mod projects;
mod queue;
mod settings;

pub use catalog::CatalogPage;
pub use compare::ComparePage;
pub use components::ComponentsPage;
pub use dashboard::DashboardPage;
pub use dashboard_activity::DashboardActivity;
pub use devices::DevicesPage;
pub use execute::ExecutePage;
pub use job::JobPage;
pub use launch::LaunchPage;
pub use login::LoginPage;
pub use models::ModelsPage;
pub use not_found::NotFoundPage;
pub use project::ProjectPage;
pub use projects::ProjectsPage;
pub use queue::QueuePage;
pub use settings::SettingsPage;
