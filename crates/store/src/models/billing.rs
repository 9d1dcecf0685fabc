//! Billing mirrored from Stripe: the plan catalogue, subscriptions, invoices and webhook events.

use crate::sql::row_struct;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value as JsonValue;
use uuid::Uuid;

closed_set! {
    /// `plans.billing_interval`.
    BillingInterval {
        Month = "month",
        Year = "year",
    }
}

closed_set! {
    /// `subscriptions.status`.
    SubscriptionStatus {
        Trialing = "trialing",
        Active = "active",
        PastDue = "past_due",
        Canceled = "canceled",
        Unpaid = "unpaid",
        Incomplete = "incomplete",
        IncompleteExpired = "incomplete_expired",
        Paused = "paused",
    }
}

closed_set! {
    /// `invoices.status`.
    InvoiceStatus {
        Draft = "draft",
        Open = "open",
        Paid = "paid",
        Uncollectible = "uncollectible",
        Void = "void",
    }
}

row_struct! {
    /// A row of `plans`: the plan catalogue (free, starter, pro, enterprise), seeded idempotently
    /// by code.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct Plan {
        pub id: Uuid,
        pub code: String,
        pub name: String,
        /// Price per billing_interval in the smallest currency unit.
        pub price_cents: i64,
        pub currency: String,
        pub billing_interval: BillingInterval,
        /// Plan limits, e.g. {"users": 5, "leads": 10000}; absent key = unlimited.
        pub limits: JsonValue,
        /// Stripe Price id (price_...); NULL for plans not sold through Stripe (free).
        pub stripe_price_id: Option<String>,
        pub is_active: bool,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `subscriptions`: the organization's subscription to a plan, mirrored from Stripe;
    /// at most one is live at a time.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct Subscription {
        pub organization_id: Uuid,
        pub id: Uuid,
        pub plan_id: Uuid,
        /// Stripe Customer id (cus_...); inbound Stripe webhooks are routed to the organization
        /// through provider_routes.
        pub stripe_customer_id: Option<String>,
        pub stripe_subscription_id: Option<String>,
        pub status: SubscriptionStatus,
        pub current_period_start: Option<DateTime<Utc>>,
        pub current_period_end: Option<DateTime<Utc>>,
        /// Canceled by the customer but still live until current_period_end.
        pub cancel_at_period_end: bool,
        pub trial_ends_at: Option<DateTime<Utc>>,
        pub canceled_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
        /// Stripe's created time of the last event applied to this row; an older event is not
        /// applied. NULL until an event is applied.
        pub stripe_event_created_at: Option<DateTime<Utc>>,
    }
}

row_struct! {
    /// A row of `invoices`: invoices of the organization, mirrored from Stripe.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct Invoice {
        pub organization_id: Uuid,
        pub id: Uuid,
        /// NULL for one-off invoices not tied to a subscription.
        pub subscription_id: Option<Uuid>,
        pub stripe_invoice_id: String,
        /// Smallest currency unit, as Stripe reports it.
        pub amount_due_cents: i64,
        pub amount_paid_cents: i64,
        pub currency: String,
        pub status: InvoiceStatus,
        pub hosted_invoice_url: Option<String>,
        pub issued_at: Option<DateTime<Utc>>,
        pub paid_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
        /// Stripe's created time of the last event applied to this row; an older event is not
        /// applied. NULL until an event is applied.
        pub stripe_event_created_at: Option<DateTime<Utc>>,
    }
}

row_struct! {
    /// A row of `stripe_webhook_events`: every Stripe webhook event received, stored once by its
    /// Stripe id so retries are processed once.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct StripeWebhookEvent {
        pub id: Uuid,
        pub stripe_event_id: String,
        /// Stripe event type, e.g. invoice.paid, customer.subscription.updated.
        pub r#type: String,
        pub payload: JsonValue,
        /// When Stripe delivered the event (equals created_at unless replayed from Stripe's event
        /// list).
        pub received_at: DateTime<Utc>,
        /// NULL until the event was applied successfully.
        pub processed_at: Option<DateTime<Utc>>,
        pub processing_error: Option<String>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}
