//! The organization's invoices, mirrored from Stripe: upserted by Stripe invoice id (a
//! retried webhook changes the one row) by the event worker only — an invoice is Stripe's
//! word, not the application's — and listed newest first.

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::{stripe_id, Billing};
use crate::db::Conn;
use crate::error::{entity, Error, Result};
use crate::models::{Invoice, InvoiceStatus};
use crate::ops::audit::{self, Entry};
use crate::ops::common::{next_cursor, page_size};
use crate::sql::query_as;
use crate::validate;

/// An invoice as Stripe reports it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StripeInvoice {
    /// `in_…`.
    pub stripe_invoice_id: String,
    /// The subscription it bills (`sub_…`); `None` for a one-off invoice.
    pub stripe_subscription_id: Option<String>,
    /// Smallest currency unit (cents), not negative.
    pub amount_due_cents: i64,
    pub amount_paid_cents: i64,
    /// Three upper-case letters; `BRL` when not given.
    pub currency: Option<String>,
    pub status: InvoiceStatus,
    pub hosted_invoice_url: Option<String>,
    pub issued_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
}

/// Where a page of invoices ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InvoiceCursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

/// One page of invoices, newest first.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct InvoicePage {
    pub invoices: Vec<Invoice>,
    /// `None` on the last page.
    pub next: Option<InvoiceCursor>,
}

/// The currency of an invoice: `BRL` by default, otherwise three upper-case letters.
fn currency(value: Option<&str>) -> Result<String> {
    let currency = value.unwrap_or("BRL");
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(Error::invalid(
            "currency",
            "must be three upper-case letters (ISO 4217, e.g. BRL)",
        ));
    }
    Ok(currency.to_owned())
}

fn cents(field: &'static str, value: i64) -> Result<i64> {
    if value < 0 {
        return Err(Error::invalid(field, "must not be negative"));
    }
    Ok(value)
}

/// Upserts `invoice`, reported by an event Stripe created at `event_created`, in the
/// organization entered on `tx`, by its Stripe id. Its Stripe subscription links it to the
/// organization's subscription of that id; one not (yet) known there — the invoice event
/// came first — leaves `subscription_id` NULL rather than failing (failing would hold back
/// that subscription's events behind it), and a later event of the invoice fills it in.
/// `None`, writing nothing, when the row holds what a newer event reported
/// (`stripe_event_created_at` after `event_created`: Stripe delivers out of order). Checks
/// the input first; appends `invoice.upserted` to the audit log when it writes.
pub(crate) async fn upsert(
    tx: &mut Conn,
    organization_id: Uuid,
    invoice: &StripeInvoice,
    event_created: DateTime<Utc>,
) -> Result<Option<Invoice>> {
    let stripe_invoice_id = stripe_id("stripe_invoice_id", "in_", &invoice.stripe_invoice_id)?;
    let stripe_subscription_id =
        validate::optional(invoice.stripe_subscription_id.as_deref(), |id| {
            stripe_id("stripe_subscription_id", "sub_", id)
        })?;
    let amount_due = cents("amount_due_cents", invoice.amount_due_cents)?;
    let amount_paid = cents("amount_paid_cents", invoice.amount_paid_cents)?;
    let currency = currency(invoice.currency.as_deref())?;
    let url = validate::optional(invoice.hosted_invoice_url.as_deref(), |url| {
        validate::https_url("hosted_invoice_url", url)
    })?;
    let upserted: Option<Invoice> = query_as(
        "INSERT INTO invoices (organization_id, subscription_id, stripe_invoice_id, \
             amount_due_cents, amount_paid_cents, currency, status, hosted_invoice_url, \
             issued_at, paid_at, stripe_event_created_at) \
         SELECT $1, s.id, $3, $4, $5, $6, $7, $8, $9, $10, $11 \
         FROM (VALUES (1)) AS one (x) \
         LEFT JOIN subscriptions AS s \
             ON s.organization_id = $1 AND s.stripe_subscription_id = $2 \
         ON CONFLICT (organization_id, stripe_invoice_id) DO UPDATE SET \
             subscription_id = coalesce(EXCLUDED.subscription_id, invoices.subscription_id), \
             amount_due_cents = EXCLUDED.amount_due_cents, \
             amount_paid_cents = EXCLUDED.amount_paid_cents, \
             currency = EXCLUDED.currency, status = EXCLUDED.status, \
             hosted_invoice_url = coalesce(EXCLUDED.hosted_invoice_url, invoices.hosted_invoice_url), \
             issued_at = coalesce(EXCLUDED.issued_at, invoices.issued_at), \
             paid_at = coalesce(EXCLUDED.paid_at, invoices.paid_at), \
             stripe_event_created_at = EXCLUDED.stripe_event_created_at \
         WHERE invoices.stripe_event_created_at IS NULL \
            OR invoices.stripe_event_created_at <= EXCLUDED.stripe_event_created_at \
         RETURNING *",
    )
    .bind(organization_id)
    .bind(stripe_subscription_id)
    .bind(stripe_invoice_id)
    .bind(amount_due)
    .bind(amount_paid)
    .bind(currency)
    .bind(invoice.status)
    .bind(url)
    .bind(invoice.issued_at)
    .bind(invoice.paid_at)
    .bind(event_created)
    .fetch_optional(&mut *tx)
    .await?;
    // No row: the conflict's WHERE kept the newer event's state.
    let Some(upserted) = upserted else {
        return Ok(None);
    };
    audit::record(
        tx,
        organization_id,
        Entry::new("invoice.upserted", "invoice", upserted.id).with_changes(json!({
            "stripe_invoice_id": upserted.stripe_invoice_id,
            "status": upserted.status.as_str(),
            "amount_due_cents": upserted.amount_due_cents,
            "amount_paid_cents": upserted.amount_paid_cents,
            "currency": upserted.currency,
        })),
    );
    Ok(Some(upserted))
}

impl Billing {
    /// An invoice.
    #[tracing::instrument(name = "billing.invoice", skip_all, fields(%id))]
    pub async fn invoice(&self, id: Uuid) -> Result<Invoice> {
        self.tenant
            .row_by_id(
                "SELECT * FROM invoices WHERE organization_id = $1 AND id = $2",
                id,
                entity::INVOICE,
            )
            .await
    }

    /// A page of the invoices, newest first, before `before` when given.
    #[tracing::instrument(name = "billing.invoices", skip_all)]
    pub async fn invoices(&self, before: Option<InvoiceCursor>, limit: i64) -> Result<InvoicePage> {
        let limit = page_size(limit)?;
        let org = self.tenant.organization_id();
        let invoices: Vec<Invoice> = match before {
            None => query_as(
                "SELECT * FROM invoices WHERE organization_id = $1 \
                 ORDER BY created_at DESC, id DESC LIMIT $2",
            )
            .bind(org)
            .bind(limit),
            Some(cursor) => query_as(
                "SELECT * FROM invoices WHERE organization_id = $1 \
                 AND (created_at, id) < ($3, $4) \
                 ORDER BY created_at DESC, id DESC LIMIT $2",
            )
            .bind(org)
            .bind(limit)
            .bind(cursor.created_at)
            .bind(cursor.id),
        }
        .fetch_all(&self.tenant)
        .await?;
        let next = next_cursor(&invoices, limit, |last| InvoiceCursor {
            created_at: last.created_at,
            id: last.id,
        });
        Ok(InvoicePage { invoices, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_default_to_brl_and_are_three_upper_case_letters() {
        assert_eq!(currency(None).unwrap(), "BRL");
        assert_eq!(currency(Some("USD")).unwrap(), "USD");
        for refused in ["usd", "US", "EURO", "U$D"] {
            assert!(currency(Some(refused)).is_err());
        }
    }
}
