//! The organization's Stripe side: its subscriptions (sometimes an earlier, canceled one),
//! monthly or yearly invoices, the webhook events Stripe sent for them and the route that
//! maps its Stripe customer back to the organization.

use uuid::Uuid;

use super::{Gen, PlanRef, BASE, DAY, HOUR, MINUTE};
use crate::copy::Ts;
use crate::tables::Table;

impl Gen<'_> {
    pub(super) fn billing(&mut self) {
        let paid: Vec<PlanRef> = self
            .shared
            .plans
            .iter()
            .filter(|p| p.price_cents > 0)
            .cloned()
            .collect();
        if paid.is_empty() {
            return;
        }
        let customer = format!("cus_{}", self.alnum(14));
        let trial_end = self.org_created + 14 * DAY;
        let mut start = self.org_created;
        if self.chance(0.25) {
            // Started on the cheapest plan, upgraded later.
            let switch = self.between(self.org_created + 60 * DAY, BASE - 90 * DAY);
            self.subscription(&paid[0], &customer, start, Some(switch), trial_end);
            start = switch;
        }
        let plan = paid[self.weighted(&[40, 35, 15, 10][..paid.len().min(4)])].clone();
        self.subscription(&plan, &customer, start, None, trial_end);
        let created = Ts(self.org_created);
        let org = self.org;
        self.row(
            Table::ProviderRoutes,
            &[
                &"stripe",
                &customer,
                &org,
                &None::<Uuid>,
                &created,
                &created,
            ],
        );
    }

    fn subscription(
        &mut self,
        plan: &PlanRef,
        customer: &str,
        start: i64,
        ended: Option<i64>,
        trial_end: i64,
    ) {
        let period = if plan.yearly { 365 * DAY } else { 30 * DAY };
        let id = self.id(start);
        let stripe_id = format!("sub_{}", self.alnum(24));
        let until = ended.unwrap_or(BASE);
        let periods = ((until - start) / period).max(0) + 1;
        let current_start = start + (periods - 1) * period;
        let status = match ended {
            Some(_) => "canceled",
            None => [
                "active", "active", "active", "active", "active", "active", "past_due", "paused",
            ][self.below(8)],
        };
        let cancel_at_period_end = ended.is_none() && status == "active" && self.chance(0.05);
        let canceled_at = ended;
        let updated = ended.unwrap_or(current_start);
        let org = self.org;
        self.row(
            Table::Subscriptions,
            &[
                &org,
                &id,
                &plan.id,
                &customer,
                &stripe_id,
                &status,
                &Ts(current_start),
                &Ts(current_start + period),
                &cancel_at_period_end,
                &(start == self.org_created).then_some(Ts(trial_end)),
                &canceled_at.map(Ts),
                &Ts(start),
                &Ts(updated),
            ],
        );
        self.stripe_event(
            "customer.subscription.created",
            serde_json::json!({ "id": stripe_id, "customer": customer, "status": "active" }),
            start,
        );
        for n in 0..periods {
            let issued = start + n * period;
            let last = n + 1 == periods;
            self.invoice(id, plan, customer, issued, last && status == "past_due");
        }
        self.audit(
            Some(self.members[0].user_id),
            "subscription.created",
            "subscription",
            Some(id),
            serde_json::json!({ "plan": { "old": null, "new": plan.code } }),
            start,
        );
    }

    fn invoice(
        &mut self,
        subscription: Uuid,
        plan: &PlanRef,
        customer: &str,
        issued: i64,
        unpaid: bool,
    ) {
        let id = self.id(issued);
        let stripe_id = format!("in_{}", self.alnum(24));
        let void = !unpaid && self.chance(0.01);
        let (status, paid_at) = if unpaid {
            ("open", None)
        } else if void {
            ("void", None)
        } else {
            (
                "paid",
                Some(issued + self.between(MINUTE, 3 * DAY).min(BASE - issued)),
            )
        };
        let amount_paid = if paid_at.is_some() {
            plan.price_cents
        } else {
            0
        };
        let url = format!("https://invoice.stripe.com/i/acct_1Crmdb/{stripe_id}");
        let org = self.org;
        self.row(
            Table::Invoices,
            &[
                &org,
                &id,
                &Some(subscription),
                &stripe_id,
                &plan.price_cents,
                &amount_paid,
                &"BRL",
                &status,
                &url,
                &Ts(issued),
                &paid_at.map(Ts),
                &Ts(issued),
                &Ts(paid_at.unwrap_or(issued)),
            ],
        );
        let (event, at) = match paid_at {
            Some(at) => ("invoice.paid", at),
            None if unpaid => ("invoice.payment_failed", issued + HOUR.min(BASE - issued)),
            None => ("invoice.voided", issued),
        };
        self.stripe_event(
            event,
            serde_json::json!({
                "id": stripe_id,
                "customer": customer,
                "amount_due": plan.price_cents,
                "amount_paid": amount_paid,
                "currency": "brl",
            }),
            at,
        );
    }

    fn stripe_event(&mut self, kind: &str, object: serde_json::Value, at: i64) {
        let id = self.id(at);
        let event_id = format!("evt_{}", self.alnum(24));
        let payload = serde_json::json!({
            "id": event_id,
            "object": "event",
            "type": kind,
            "created": at / 1000,
            "data": { "object": object },
        });
        let processed = at + self.between(100, 2_000);
        self.row(
            Table::StripeWebhookEvents,
            &[
                &id,
                &event_id,
                &kind,
                &payload,
                &Ts(at),
                &Ts(processed),
                &None::<String>,
                &Ts(at),
                &Ts(processed),
            ],
        );
    }
}
