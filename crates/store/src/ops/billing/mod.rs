//! Billing mirrored from Stripe: the plan catalogue, each organization's subscription and
//! invoices, the plan limits the application checks before it adds seats, leads,
//! pipelines or WhatsApp numbers, and the Stripe webhook events, stored once by the web
//! receiver and applied in order per subscription by workers.
//!
//! - [`Plans`] (`db.plans()`): the global catalogue;
//! - [`Billing`] (`tenant.billing()`): the organization's subscription, usage and invoices;
//! - [`events::StripeEvents`] (`db.stripe_events()`) and [`events::StripeWorker`]
//!   (`worker_db.stripe_worker(name)`): the webhook events.

mod events;
mod invoices;
mod subscriptions;
mod usage;

pub use events::{Outcome, Recorded, StripeEvents, StripeWorker};
pub use invoices::{InvoiceCursor, InvoicePage};
pub use subscriptions::{CancelAt, MAX_TRIAL_DAYS};
pub use usage::{Limit, Quota, Usage};

use crate::db::{Db, Last, Tenant};
use crate::error::{entity, Error, Result};
use crate::models::Plan;
use crate::sql::query_as;

/// The plan catalogue, which every organization reads.
#[derive(Debug, Clone)]
pub struct Plans {
    db: Db,
}

impl Db {
    /// The plan catalogue.
    pub fn plans(&self) -> Plans {
        Plans { db: self.clone() }
    }
}

impl Plans {
    /// The plans on sale, cheapest first.
    #[tracing::instrument(name = "plans.list", skip_all)]
    pub async fn list(&self) -> Result<Vec<Plan>> {
        let mut tx = self.db.begin_global(None).await?;
        query_as("SELECT * FROM plans WHERE is_active ORDER BY price_cents, code")
            .fetch_all(Last(&mut tx))
            .await
    }

    /// The plan of `code` (`free`, `starter`, …), on sale or retired.
    #[tracing::instrument(name = "plans.get", skip_all, fields(code))]
    pub async fn get(&self, code: &str) -> Result<Plan> {
        tracing::Span::current().record("code", code);
        let mut tx = self.db.begin_global(None).await?;
        query_as("SELECT * FROM plans WHERE code = $1")
            .bind(code)
            .fetch_optional(Last(&mut tx))
            .await?
            .ok_or(Error::not_found(entity::PLAN))
    }
}

/// The billing of one organization: its subscription, the usage of its plan's limits and
/// its invoices.
#[derive(Debug, Clone)]
pub struct Billing {
    tenant: Tenant,
}

impl Tenant {
    /// Subscription, plan limits and invoices.
    pub fn billing(&self) -> Billing {
        Billing {
            tenant: self.clone(),
        }
    }
}

/// A Stripe object id: `prefix` (`cus_`, `sub_`, `in_`, `evt_`) then ASCII letters and
/// digits, as the schema's checks require.
pub(crate) fn stripe_id(field: &'static str, prefix: &'static str, value: &str) -> Result<String> {
    let valid = value
        .strip_prefix(prefix)
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric()));
    if !valid {
        return Err(Error::InvalidInput {
            field: field.into(),
            rule: format!("must be a Stripe id ({prefix} then letters and digits)").into(),
        });
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripe_ids_have_their_prefix_and_letters_and_digits() {
        assert_eq!(
            stripe_id("stripe_customer_id", "cus_", "cus_A1b2").unwrap(),
            "cus_A1b2"
        );
        for refused in ["cus_", "sub_A1", "cus_a-b", " cus_A1", "cus_Á"] {
            assert!(stripe_id("stripe_customer_id", "cus_", refused).is_err());
        }
    }
}
