//! Webhook subscriptions: endpoints the organization registers for our events, each with a
//! signing secret sealed at rest and shown in clear only when created or rotated.

use secrecy::SecretString;
use uuid::Uuid;

use crate::db::Tenant;
use crate::error::{entity, Error, Result};
use crate::models::WebhookSubscription;
use crate::ops::audit::{self, Entry};
use crate::sealing;
use crate::sql::query_as;
use crate::validate;

pub(super) const TABLE: &str = "webhook_subscriptions";
pub(super) const COLUMN: &str = "secret_ciphertext";
/// What the audit log calls a subscription.
const ENTITY_TYPE: &str = "webhook_subscription";

/// A subscription just created (or whose secret was rotated), with the signing secret to
/// hand to the endpoint's owner.
#[derive(Debug)]
pub struct WithSecret {
    pub subscription: WebhookSubscription,
    pub secret: SecretString,
}

/// Changes to a subscription: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookChanges {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub is_active: Option<bool>,
}

/// The webhook subscriptions of one organization.
#[derive(Debug, Clone)]
pub struct Webhooks {
    pub(super) tenant: Tenant,
}

impl Tenant {
    /// Webhook subscriptions.
    pub fn webhooks(&self) -> Webhooks {
        Webhooks {
            tenant: self.clone(),
        }
    }
}

fn events(events: &[String]) -> Result<Vec<String>> {
    if events.is_empty() {
        return Err(Error::invalid("events", "must name at least one event"));
    }
    events
        .iter()
        .map(|e| {
            if e == "*" {
                Ok(e.clone())
            } else {
                validate::dotted_name("events", e)
            }
        })
        .collect()
}

impl Webhooks {
    /// Registers an https endpoint for `events` (`*` for all) with a fresh signing secret.
    #[tracing::instrument(name = "webhooks.create", skip_all)]
    pub async fn create(
        &self,
        url: &str,
        event_names: &[String],
        description: Option<&str>,
    ) -> Result<WithSecret> {
        let url = validate::https_url("url", url)?;
        let event_names = events(event_names)?;
        let org = self.tenant.organization_id();
        let secret = sealing::random_secret("whsec_");
        let sealed = sealing::seal(self.tenant.db().keyring()?, org, TABLE, COLUMN, &secret);
        let subscription =
            self.tenant
                .write(async |tx| {
                    let row: WebhookSubscription = query_as(
                        "INSERT INTO webhook_subscriptions (organization_id, url, description, \
                                 secret_ciphertext, encryption_key_id, events) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
                    )
                    .bind(org)
                    .bind(&url)
                    .bind(description)
                    .bind(&sealed.ciphertext)
                    .bind(&sealed.key_id)
                    .bind(&event_names)
                    .fetch_one(&mut **tx)
                    .await?;
                    audit::record(
                        tx,
                        org,
                        Entry::new("webhook_subscription.created", ENTITY_TYPE, row.id)
                            .with_changes(serde_json::json!({
                                "url_host": {"new": validate::url_host(&row.url)},
                                "events": {"new": row.events},
                            })),
                    );
                    Ok(row)
                })
                .await?;
        Ok(WithSecret {
            subscription,
            secret,
        })
    }

    /// A subscription.
    #[tracing::instrument(name = "webhooks.get", skip_all, fields(%id))]
    pub async fn get(&self, id: Uuid) -> Result<WebhookSubscription> {
        self.tenant
            .row_by_id(
                "SELECT * FROM webhook_subscriptions WHERE organization_id = $1 AND id = $2",
                id,
                entity::WEBHOOK_SUBSCRIPTION,
            )
            .await
    }

    /// Every subscription, oldest first.
    #[tracing::instrument(name = "webhooks.list", skip_all)]
    pub async fn list(&self) -> Result<Vec<WebhookSubscription>> {
        self.tenant
            .rows_of_organization(
                "SELECT * FROM webhook_subscriptions WHERE organization_id = $1 ORDER BY id",
            )
            .await
    }

    /// The signing secret, opened, to sign a delivery.
    #[tracing::instrument(name = "webhooks.secret", skip_all, fields(%id))]
    pub async fn secret(&self, id: Uuid) -> Result<SecretString> {
        let subscription = self.get(id).await?;
        sealing::open(
            self.tenant.db().keyring()?,
            self.tenant.organization_id(),
            TABLE,
            COLUMN,
            subscription.encryption_key_id,
            subscription.secret_ciphertext,
        )
    }

    /// Replaces the signing secret with a fresh one.
    #[tracing::instrument(name = "webhooks.rotate_secret", skip_all, fields(%id))]
    pub async fn rotate_secret(&self, id: Uuid) -> Result<WithSecret> {
        let org = self.tenant.organization_id();
        let secret = sealing::random_secret("whsec_");
        let sealed = sealing::seal(self.tenant.db().keyring()?, org, TABLE, COLUMN, &secret);
        let subscription = self
            .tenant
            .write(async |tx| {
                let row = query_as(
                    "UPDATE webhook_subscriptions SET secret_ciphertext = $3, encryption_key_id = $4 \
                     WHERE organization_id = $1 AND id = $2 RETURNING *",
                )
                .bind(org)
                .bind(id)
                .bind(&sealed.ciphertext)
                .bind(&sealed.key_id)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(Error::not_found(entity::WEBHOOK_SUBSCRIPTION))?;
                audit::record(
                    tx,
                    org,
                    Entry::new("webhook_subscription.secret_rotated", ENTITY_TYPE, id),
                );
                Ok(row)
            })
            .await?;
        Ok(WithSecret {
            subscription,
            secret,
        })
    }

    /// Applies `changes`.
    #[tracing::instrument(name = "webhooks.update", skip_all, fields(%id))]
    pub async fn update(&self, id: Uuid, changes: &WebhookChanges) -> Result<WebhookSubscription> {
        let url = validate::optional(changes.url.as_deref(), |u| validate::https_url("url", u))?;
        let event_names = validate::optional(changes.events.as_deref(), events)?;
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                let row = query_as(
                    "UPDATE webhook_subscriptions SET url = coalesce($3, url), \
                         events = coalesce($4, events), is_active = coalesce($5, is_active) \
                     WHERE organization_id = $1 AND id = $2 RETURNING *",
                )
                .bind(org)
                .bind(id)
                .bind(&url)
                .bind(&event_names)
                .bind(changes.is_active)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(Error::not_found(entity::WEBHOOK_SUBSCRIPTION))?;
                // Only what the caller set; of the URL only its host, since the path or
                // query of a webhook URL can carry a token and the log is forever.
                let mut changed = serde_json::Map::new();
                if let Some(url) = &url {
                    changed.insert(
                        "url_host".into(),
                        serde_json::json!({"new": validate::url_host(url)}),
                    );
                }
                if let Some(event_names) = &event_names {
                    changed.insert("events".into(), serde_json::json!({"new": event_names}));
                }
                if let Some(active) = changes.is_active {
                    changed.insert("is_active".into(), serde_json::json!({"new": active}));
                }
                if !changed.is_empty() {
                    audit::record(
                        tx,
                        org,
                        Entry::new("webhook_subscription.updated", ENTITY_TYPE, id)
                            .with_changes(changed.into()),
                    );
                }
                Ok(row)
            })
            .await
    }

    /// Deletes a subscription and its delivery log.
    #[tracing::instrument(name = "webhooks.delete", skip_all, fields(%id))]
    pub async fn delete(&self, id: Uuid) -> Result<()> {
        self.tenant
            .delete_audited(
                "DELETE FROM webhook_subscriptions WHERE organization_id = $1 AND id = $2",
                id,
                entity::WEBHOOK_SUBSCRIPTION,
                "webhook_subscription.deleted",
                ENTITY_TYPE,
            )
            .await
    }
}
