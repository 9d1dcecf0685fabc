//! The organization's keys for external services (its own OpenAI key, …): sealed at rest,
//! listed with a 4-character hint, opened only to be used.

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use uuid::Uuid;

use crate::db::Tenant;
use crate::error::{entity, Error, Result};
use crate::models::ApiKey;
use crate::ops::audit::{self, Entry};
use crate::sealing;
use crate::sql::query_as;
use crate::validate;

const TABLE: &str = "api_keys";
const COLUMN: &str = "key_ciphertext";

/// The API keys of one organization.
#[derive(Debug, Clone)]
pub struct ApiKeys {
    tenant: Tenant,
}

impl Tenant {
    /// External service API keys.
    pub fn api_keys(&self) -> ApiKeys {
        ApiKeys {
            tenant: self.clone(),
        }
    }
}

impl ApiKeys {
    /// Stores `key` for `service_name` (lower-case, e.g. `openai`) under `key_name`.
    #[tracing::instrument(name = "api_keys.create", skip_all)]
    pub async fn create(
        &self,
        service_name: &str,
        key_name: &str,
        key: &SecretString,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<ApiKey> {
        let key_name = validate::required("key_name", key_name)?;
        let service_ok = service_name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && service_name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !service_ok {
            return Err(Error::invalid(
                "service_name",
                "must be lower-case letters, digits, '_' or '-'",
            ));
        }
        if key.expose_secret().len() < 8 {
            return Err(Error::invalid("key", "must be at least 8 characters"));
        }
        let org = self.tenant.organization_id();
        let sealed = sealing::seal(self.tenant.db().keyring()?, org, TABLE, COLUMN, key);
        let hint = sealing::hint(key.expose_secret());
        self.tenant
            .write(async |tx| {
                let row: ApiKey = query_as(
                    "INSERT INTO api_keys (organization_id, service_name, key_name, \
                                 key_ciphertext, encryption_key_id, key_hint, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
                )
                .bind(org)
                .bind(service_name)
                .bind(&key_name)
                .bind(&sealed.ciphertext)
                .bind(&sealed.key_id)
                .bind(&hint)
                .bind(expires_at)
                .fetch_one(&mut **tx)
                .await?;
                audit::record(
                    tx,
                    org,
                    Entry::new("api_key.created", "api_key", row.id).with_changes(json!({
                        "service_name": {"new": row.service_name},
                        "key_name": {"new": row.key_name},
                    })),
                );
                Ok(row)
            })
            .await
    }

    /// An API key (sealed).
    #[tracing::instrument(name = "api_keys.get", skip_all, fields(%id))]
    pub async fn get(&self, id: Uuid) -> Result<ApiKey> {
        self.tenant
            .row_by_id(
                "SELECT * FROM api_keys WHERE organization_id = $1 AND id = $2",
                id,
                entity::API_KEY,
            )
            .await
    }

    /// Every API key (sealed), by service and name.
    #[tracing::instrument(name = "api_keys.list", skip_all)]
    pub async fn list(&self) -> Result<Vec<ApiKey>> {
        self.tenant
            .rows_of_organization(
                "SELECT * FROM api_keys WHERE organization_id = $1 ORDER BY service_name, key_name",
            )
            .await
    }

    /// Opens an active, unexpired key to call its service, and notes the use.
    #[tracing::instrument(name = "api_keys.reveal", skip_all, fields(%id))]
    pub async fn reveal(&self, id: Uuid) -> Result<SecretString> {
        let org = self.tenant.organization_id();
        let row: ApiKey = self
            .tenant
            .row_by_id(
                "UPDATE api_keys SET last_used_at = now() \
                 WHERE organization_id = $1 AND id = $2 RETURNING *",
                id,
                entity::API_KEY,
            )
            .await?;
        if !row.is_active {
            return Err(Error::forbidden("the API key is deactivated"));
        }
        if row.expires_at.is_some_and(|at| at <= Utc::now()) {
            return Err(Error::forbidden("the API key has expired"));
        }
        sealing::open(
            self.tenant.db().keyring()?,
            org,
            TABLE,
            COLUMN,
            row.encryption_key_id,
            row.key_ciphertext,
        )
    }

    /// Activates or deactivates a key. Setting the state it already has changes nothing
    /// and records nothing.
    #[tracing::instrument(name = "api_keys.set_active", skip_all, fields(%id))]
    pub async fn set_active(&self, id: Uuid, active: bool) -> Result<ApiKey> {
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                let changed: Option<ApiKey> = query_as(
                    "UPDATE api_keys SET is_active = $3 \
                     WHERE organization_id = $1 AND id = $2 AND is_active <> $3 RETURNING *",
                )
                .bind(org)
                .bind(id)
                .bind(active)
                .fetch_optional(&mut **tx)
                .await?;
                let Some(row) = changed else {
                    return query_as(
                        "SELECT * FROM api_keys WHERE organization_id = $1 AND id = $2",
                    )
                    .bind(org)
                    .bind(id)
                    .fetch_optional(&mut **tx)
                    .await?
                    .ok_or(Error::not_found(entity::API_KEY));
                };
                let action = if active {
                    "api_key.activated"
                } else {
                    "api_key.deactivated"
                };
                audit::record(tx, org, Entry::new(action, "api_key", id));
                Ok(row)
            })
            .await
    }

    /// Deletes a key.
    #[tracing::instrument(name = "api_keys.delete", skip_all, fields(%id))]
    pub async fn delete(&self, id: Uuid) -> Result<()> {
        self.tenant
            .delete_audited(
                "DELETE FROM api_keys WHERE organization_id = $1 AND id = $2",
                id,
                entity::API_KEY,
                "api_key.deleted",
                "api_key",
            )
            .await
    }
}
