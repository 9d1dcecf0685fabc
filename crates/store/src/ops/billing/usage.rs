//! The plan limits the application checks before it adds something that counts against
//! them: how much of each the organization uses and how much its plan allows.

use std::borrow::Cow;

use serde::Serialize;

use super::Billing;
use crate::error::{entity, Error, Result};
use crate::sql::{query_as, row_struct};

/// A limit of a plan (`plans.limits`, whose keys are in [`Limit::key`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Limit {
    /// Members of the organization (key `users`).
    Seats,
    /// Leads not deleted.
    Leads,
    Pipelines,
    /// WhatsApp configurations (key `whatsapp_numbers`).
    WhatsappNumbers,
}

impl Limit {
    /// Every limit.
    pub const ALL: &'static [Limit] = &[
        Limit::Seats,
        Limit::Leads,
        Limit::Pipelines,
        Limit::WhatsappNumbers,
    ];

    /// The key of this limit in `plans.limits`.
    pub fn key(self) -> &'static str {
        match self {
            Limit::Seats => "users",
            Limit::Leads => "leads",
            Limit::Pipelines => "pipelines",
            Limit::WhatsappNumbers => "whatsapp_numbers",
        }
    }
}

/// How much of one limit is used, and the plan's maximum (`None`: unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Quota {
    pub used: i64,
    pub max: Option<i64>,
}

impl Quota {
    /// Whether `adding` more still fit.
    pub fn allows(self, adding: i64) -> bool {
        self.max
            .is_none_or(|max| self.used.saturating_add(adding) <= max)
    }
}

/// The usage of every limit of the plan that applies to the organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// The plan that applies: the live subscription's, or `free` without one (or with a
    /// trial past its end).
    pub plan_code: String,
    pub seats: Quota,
    pub leads: Quota,
    pub pipelines: Quota,
    pub whatsapp_numbers: Quota,
}

impl Usage {
    /// The quota of `limit`.
    pub fn of(&self, limit: Limit) -> Quota {
        match limit {
            Limit::Seats => self.seats,
            Limit::Leads => self.leads,
            Limit::Pipelines => self.pipelines,
            Limit::WhatsappNumbers => self.whatsapp_numbers,
        }
    }
}

row_struct! {
    struct UsageRow {
        plan_code: String,
        seats_used: i64,
        seats_max: Option<i64>,
        leads_used: i64,
        leads_max: Option<i64>,
        pipelines_used: i64,
        pipelines_max: Option<i64>,
        whatsapp_numbers_used: i64,
        whatsapp_numbers_max: Option<i64>,
    }
}

/// The plan of the live subscription, or the free plan when there is none — a trial whose
/// end has passed counts as none, whatever Stripe has not yet reported — its limits and
/// the four counts. Every member counts as a seat (a suspended one may be reactivated);
/// a lead in the trash does not count.
const USAGE: &str = "\
SELECT p.code AS plan_code, \
       (SELECT count(*) FROM organization_members WHERE organization_id = $1) AS seats_used, \
       (p.limits ->> 'users')::bigint AS seats_max, \
       (SELECT count(*) FROM leads WHERE organization_id = $1 AND deleted_at IS NULL) AS leads_used, \
       (p.limits ->> 'leads')::bigint AS leads_max, \
       (SELECT count(*) FROM pipelines WHERE organization_id = $1) AS pipelines_used, \
       (p.limits ->> 'pipelines')::bigint AS pipelines_max, \
       (SELECT count(*) FROM whatsapp_configs WHERE organization_id = $1) AS whatsapp_numbers_used, \
       (p.limits ->> 'whatsapp_numbers')::bigint AS whatsapp_numbers_max \
FROM plans AS p \
WHERE p.id = coalesce( \
    (SELECT s.plan_id FROM subscriptions AS s \
     WHERE s.organization_id = $1 AND s.status NOT IN ('canceled', 'incomplete_expired') \
       AND (s.status <> 'trialing' OR s.trial_ends_at IS NULL OR s.trial_ends_at > now())), \
    (SELECT f.id FROM plans AS f WHERE f.code = 'free'))";

impl Billing {
    /// How much of each limit the organization uses and how much its plan allows, in one
    /// statement. Without a live subscription, or with a trial past its end, the `free`
    /// plan applies.
    #[tracing::instrument(name = "billing.usage", skip_all)]
    pub async fn usage(&self) -> Result<Usage> {
        let row: UsageRow = query_as(USAGE)
            .bind(self.tenant.organization_id())
            .fetch_optional(&self.tenant)
            .await?
            .ok_or(Error::not_found(entity::PLAN))?;
        Ok(Usage {
            plan_code: row.plan_code,
            seats: Quota {
                used: row.seats_used,
                max: row.seats_max,
            },
            leads: Quota {
                used: row.leads_used,
                max: row.leads_max,
            },
            pipelines: Quota {
                used: row.pipelines_used,
                max: row.pipelines_max,
            },
            whatsapp_numbers: Quota {
                used: row.whatsapp_numbers_used,
                max: row.whatsapp_numbers_max,
            },
        })
    }

    /// Whether the plan allows `adding` more of `limit`: `Ok`, or [`Error::Forbidden`]
    /// naming the limit, the plan's maximum and the count in use. A check, not a
    /// reservation: two concurrent additions may both pass it.
    #[tracing::instrument(name = "billing.check", skip_all, fields(limit = limit.key(), adding))]
    pub async fn check(&self, limit: Limit, adding: i64) -> Result<()> {
        if adding < 0 {
            return Err(Error::invalid("adding", "must not be negative"));
        }
        let usage = self.usage().await?;
        let quota = usage.of(limit);
        match quota.max {
            Some(max) if !quota.allows(adding) => Err(Error::Forbidden {
                why: Cow::Owned(format!(
                    "the {} plan allows {max} {}; {} in use, {adding} more asked for",
                    usage.plan_code,
                    limit.key(),
                    quota.used
                )),
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quota_allows_up_to_its_maximum_and_none_is_unlimited() {
        let quota = Quota {
            used: 498,
            max: Some(500),
        };
        assert!(quota.allows(2));
        assert!(!quota.allows(3));
        assert!(Quota {
            used: i64::MAX,
            max: None
        }
        .allows(i64::MAX));
    }
}
