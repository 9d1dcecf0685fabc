//! The data layer's errors: what went wrong in the CRM's terms, naming the constraint,
//! field or rule, so no caller has to parse PostgreSQL's message text.

use std::borrow::Cow;

use crmdb_pg::sqlstate::{
    CHECK_VIOLATION, EXCLUSION_VIOLATION, FOREIGN_KEY_VIOLATION, NOT_NULL_VIOLATION,
    UNIQUE_VIOLATION,
};

/// The result of every operation of the data layer.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What an operation of the data layer can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No row with that id in the handle's organization (rows of other organizations are
    /// reported the same way, so ids of other tenants cannot be probed). `entity` is one of
    /// the names in [`entity`], so callers match on the constant, not on a spelling.
    #[error("{entity} not found")]
    NotFound { entity: &'static str },

    /// A unique key or a foreign key refused the change; `constraint` names it
    /// (`uq_leads_…`, `fk_leads_…`).
    #[error("the change conflicts with existing data (constraint {constraint})")]
    Conflict { constraint: String },

    /// A value breaks a rule of its field: `field` is the field (or the check's name),
    /// `rule` what it must satisfy.
    #[error("invalid {field}: {rule}")]
    InvalidInput {
        field: Cow<'static, str>,
        rule: Cow<'static, str>,
    },

    /// The operation is understood but not allowed (e.g. removing the last owner).
    #[error("not allowed: {why}")]
    Forbidden { why: Cow<'static, str> },

    /// A sealed secret could not be sealed or opened (missing or wrong key, tampering).
    #[error(transparent)]
    Secret(#[from] crmdb_secrets::Error),

    /// The organization's defaults could not be seeded (their data files are invalid).
    #[error(transparent)]
    Seed(crmdb_seed::SeedError),

    /// A file of an export could not be written.
    #[error("could not write {}", path.display())]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Anything the database reported that has no meaning in the CRM's terms: connection
    /// loss, timeouts, permissions. The last resort, never a constraint violation.
    #[error("database error: {}", server_message(.0))]
    Database(#[source] tokio_postgres::Error),

    /// No connection could be had from the pool (it is closed, or could not be built).
    #[error("no database connection: {0}")]
    Pool(String),

    /// The live catalog (the tables an operation walks) could not be read.
    #[error("could not read the database's catalog")]
    Catalog(#[source] sqlx::Error),

    /// A statement that must return a row returned none.
    #[error("the statement returned no row")]
    NoRow,
}

impl Error {
    /// "`entity` not found", `entity` being one of the names in [`entity`].
    pub(crate) const fn not_found(entity: &'static str) -> Error {
        Error::NotFound { entity }
    }

    /// An invalid-input error with static texts.
    pub(crate) fn invalid(field: &'static str, rule: &'static str) -> Error {
        Error::InvalidInput {
            field: Cow::Borrowed(field),
            rule: Cow::Borrowed(rule),
        }
    }

    /// A forbidden error with a static reason.
    pub(crate) fn forbidden(why: &'static str) -> Error {
        Error::Forbidden {
            why: Cow::Borrowed(why),
        }
    }

    /// Turns a violation of the foreign key `constraint` into "`entity` not found": where an
    /// operation takes the id of a parent (the lead of a note), a missing parent — or one
    /// of another organization, which the composite key refuses the same way — is reported
    /// as the caller would see it.
    pub(crate) fn missing_parent(self, constraint: &str, entity: &'static str) -> Error {
        match self {
            Error::Conflict { constraint: ref c } if c == constraint => Error::not_found(entity),
            other => other,
        }
    }
}

pub mod entity {
    //! The names [`Error::NotFound`](super::Error::NotFound) gives, each spelled once: the
    //! thing in the CRM's words (not its table's name), lower-case and singular, words
    //! separated by spaces, because they end up in messages people read ("api key not
    //! found"). Where the row may exist but not in the state the operation needs, the state
    //! qualifies the name ("deleted lead", "queued job").

    pub const API_KEY: &str = "api key";
    /// An unused, unexpired e-mailed token (password reset, e-mail verification).
    pub const AUTH_TOKEN: &str = "auth token";
    pub const CALENDAR_EVENT: &str = "calendar event";
    pub const CALENDAR_INTEGRATION: &str = "calendar integration";
    pub const COMMUNICATION: &str = "communication";
    pub const CONVERSATION: &str = "conversation";
    pub const CUSTOM_FIELD: &str = "custom field";
    pub const DELETED_LEAD: &str = "deleted lead";
    pub const EVENT: &str = "event";
    /// A Stripe event that is unprocessed and failed.
    pub const FAILED_STRIPE_EVENT: &str = "failed stripe event";
    pub const FAVORITE: &str = "favorite";
    /// A job in `running` status locked by the worker that asks.
    pub const HELD_JOB: &str = "running job held by this worker";
    pub const INVITATION: &str = "invitation";
    pub const INVOICE: &str = "invoice";
    pub const JOB: &str = "job";
    pub const LEAD: &str = "lead";
    /// A tag on a given lead.
    pub const LEAD_TAG: &str = "lead tag";
    pub const MARKETING_INTEGRATION: &str = "marketing integration";
    pub const MEMBER: &str = "member";
    pub const NOTE: &str = "note";
    pub const NOTIFICATION: &str = "notification";
    pub const ORGANIZATION: &str = "organization";
    /// A VoIP config of the organization's defaults that still awaits its setup.
    pub const PENDING_VOIP_CONFIG: &str = "pending voip config";
    pub const PIPELINE: &str = "pipeline";
    pub const PLAN: &str = "plan";
    pub const PROVIDER_ROUTE: &str = "provider route";
    pub const QUEUED_JOB: &str = "queued job";
    pub const SCORING_MODEL: &str = "scoring model";
    pub const SESSION: &str = "session";
    pub const STAGE: &str = "stage";
    /// A Stripe customer routed to no organization.
    pub const STRIPE_CUSTOMER: &str = "stripe customer";
    /// The sealed credentials of a config that has none yet.
    pub const STORED_CREDENTIALS: &str = "stored credentials";
    /// The sealed access token of an integration that has none.
    pub const STORED_TOKEN: &str = "stored token";
    pub const SUBSCRIPTION: &str = "subscription";
    pub const TASK: &str = "task";
    pub const TEMPLATE: &str = "template";
    pub const TEMPLATE_USAGE: &str = "template usage";
    pub const TRAINING_EXAMPLE: &str = "training example";
    pub const TWO_FACTOR_ENROLMENT: &str = "two-factor enrolment";
    pub const USER: &str = "user";
    pub const VOIP_CONFIG: &str = "voip config";
    pub const WEBHOOK_DELIVERY: &str = "webhook delivery";
    pub const WEBHOOK_SUBSCRIPTION: &str = "webhook subscription";
    pub const WHATSAPP_CONFIG: &str = "whatsapp config";
}

impl From<tokio_postgres::Error> for Error {
    fn from(error: tokio_postgres::Error) -> Error {
        let Some(db) = error.as_db_error() else {
            return Error::Database(error);
        };
        let constraint = db.constraint().map(str::to_owned);
        match (db.code().code(), constraint) {
            (UNIQUE_VIOLATION | FOREIGN_KEY_VIOLATION | EXCLUSION_VIOLATION, Some(constraint)) => {
                Error::Conflict { constraint }
            }
            // The schema names checks ck_<table>_<rule>.
            (CHECK_VIOLATION, Some(constraint)) => {
                let field = db
                    .table()
                    .and_then(|t| constraint.strip_prefix(&format!("ck_{t}_")))
                    .unwrap_or(&constraint)
                    .to_owned();
                Error::InvalidInput {
                    field: Cow::Owned(field),
                    rule: Cow::Owned(format!("must satisfy check {constraint}")),
                }
            }
            // PostgreSQL reports the column of a not-null violation.
            (NOT_NULL_VIOLATION, _) => {
                let column = db.column().unwrap_or("a required field").to_owned();
                Error::InvalidInput {
                    field: Cow::Owned(column),
                    rule: Cow::Borrowed("is required"),
                }
            }
            _ => Error::Database(error),
        }
    }
}

/// What the server said (its message and SQLSTATE), or the driver's own description when
/// the error did not come from the server (a lost connection, a value that did not decode).
fn server_message(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => error.to_string(),
    }
}

impl From<deadpool_postgres::PoolError> for Error {
    fn from(error: deadpool_postgres::PoolError) -> Error {
        match error {
            deadpool_postgres::PoolError::Backend(error) => Error::from(error),
            other => Error::Pool(other.to_string()),
        }
    }
}

impl Error {
    /// The SQLSTATE of an error the server reported, for callers that tell a few apart
    /// (`statement_timeout`'s `57014`, a missing privilege's `42501`).
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            Error::Database(error) => error.code().map(|code| code.code()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_foreign_key_conflict_becomes_not_found_only_for_its_constraint() {
        let conflict = || Error::Conflict {
            constraint: "fk_lead_notes_leads".into(),
        };
        assert!(matches!(
            conflict().missing_parent("fk_lead_notes_leads", entity::LEAD),
            Error::NotFound {
                entity: entity::LEAD
            }
        ));
        assert!(matches!(
            conflict().missing_parent("fk_tasks_leads", entity::LEAD),
            Error::Conflict { .. }
        ));
    }

    #[test]
    fn messages_name_what_went_wrong() {
        assert_eq!(Error::not_found(entity::LEAD).to_string(), "lead not found");
        assert_eq!(
            Error::invalid("email", "must be lower-case").to_string(),
            "invalid email: must be lower-case"
        );
    }
}
