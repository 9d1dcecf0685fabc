//! The operations of the data layer, one module per area of the CRM. Each area is a small
//! handle borrowed from a [`crate::Tenant`] (or the [`crate::Db`] for global work). What the
//! areas share — the by-id statements and pagination — lives in `common`; a paged read
//! takes a page size of up to [`MAX_PAGE`].

pub mod ai;
pub mod analytics;
pub mod api_keys;
pub mod audit;
pub mod billing;
pub mod calendar;
pub(crate) mod common;
pub mod communications;
pub mod custom_fields;
pub mod integrations;
pub mod jobs;
pub mod leads;
pub mod members;
pub mod notes;
pub mod notifications;
pub mod organizations;
pub mod outbox;
pub mod pipelines;
pub mod privacy;
pub mod provider_routes;
pub mod scoring;
pub mod sessions;
pub mod tasks;
pub mod templates;
pub mod webhooks;

pub use common::MAX_PAGE;
