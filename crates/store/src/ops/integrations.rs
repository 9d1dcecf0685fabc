//! Connected accounts whose credentials are sealed at rest: members' calendars (Google,
//! Microsoft), marketing platforms that import leads, and the WhatsApp and VoIP providers.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use secrecy::SecretString;
use uuid::Uuid;

use crate::db::Tenant;
use crate::error::{entity, Error, Result};
use crate::models::{
    CalendarIntegration, CalendarProvider, CalendarSyncStatus, MarketingIntegration,
    MarketingPlatform, VoipConfig, VoipProvider, WhatsappConfig, WhatsappProvider,
};
use crate::ops::audit::{self, Entry};
use crate::sealing;
use crate::sql::query_as;
use crate::validate;

const ACCESS: &str = "access_token_ciphertext";
const REFRESH: &str = "refresh_token_ciphertext";
const CALENDAR: &str = "calendar_integrations";
const MARKETING: &str = "marketing_integrations";
const CREDENTIALS: &str = "credentials_ciphertext";

/// OAuth tokens of a connected account.
#[derive(Debug, Clone)]
pub struct OAuthTokens {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A WhatsApp number to connect.
#[derive(Debug, Clone)]
pub struct NewWhatsapp {
    pub provider: WhatsappProvider,
    pub phone_number: String,
    pub phone_number_id: Option<String>,
    pub business_account_id: Option<String>,
    /// The provider credentials (e.g. the Business API access token).
    pub credentials: SecretString,
    /// The token Meta echoes when verifying the webhook; only its hash is kept.
    pub webhook_verify_token: Option<SecretString>,
}

/// Connected accounts of one organization.
#[derive(Debug, Clone)]
pub struct Integrations {
    tenant: Tenant,
}

impl Tenant {
    /// Calendar, marketing, WhatsApp and VoIP connections.
    pub fn integrations(&self) -> Integrations {
        Integrations {
            tenant: self.clone(),
        }
    }
}

/// Sealed access and refresh tokens of one row, under the same key.
struct SealedTokens {
    key_id: String,
    access: Vec<u8>,
    refresh: Option<Vec<u8>>,
}

impl Integrations {
    fn seal_tokens(&self, table: &str, tokens: &OAuthTokens) -> Result<SealedTokens> {
        let keyring = self.tenant.db().keyring()?;
        let org = self.tenant.organization_id();
        let access = sealing::seal(keyring, org, table, ACCESS, &tokens.access_token);
        let refresh = tokens
            .refresh_token
            .as_ref()
            .map(|t| sealing::seal(keyring, org, table, REFRESH, t).ciphertext);
        Ok(SealedTokens {
            key_id: access.key_id,
            access: access.ciphertext,
            refresh,
        })
    }

    fn open_tokens(
        &self,
        table: &str,
        key_id: Option<String>,
        access: Option<Vec<u8>>,
        refresh: Option<Vec<u8>>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<OAuthTokens> {
        let keyring = self.tenant.db().keyring()?;
        let org = self.tenant.organization_id();
        let (Some(key_id), Some(access)) = (key_id, access) else {
            return Err(Error::not_found(entity::STORED_TOKEN));
        };
        let access_token = sealing::open(keyring, org, table, ACCESS, key_id.clone(), access)?;
        let refresh_token = refresh
            .map(|r| sealing::open(keyring, org, table, REFRESH, key_id, r))
            .transpose()?;
        Ok(OAuthTokens {
            access_token,
            refresh_token,
            expires_at,
        })
    }

    /// Connects (or reconnects) a member's calendar with fresh tokens.
    #[tracing::instrument(name = "integrations.connect_calendar", skip_all, fields(%user_id))]
    pub async fn connect_calendar(
        &self,
        user_id: Uuid,
        provider: CalendarProvider,
        calendar_id: Option<&str>,
        tokens: &OAuthTokens,
    ) -> Result<CalendarIntegration> {
        let sealed = self.seal_tokens(CALENDAR, tokens)?;
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                let row: CalendarIntegration = query_as(
                    "INSERT INTO calendar_integrations (organization_id, user_id, provider, \
                         access_token_ciphertext, refresh_token_ciphertext, encryption_key_id, \
                         token_expires_at, calendar_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     ON CONFLICT (organization_id, user_id, provider) DO UPDATE SET \
                         access_token_ciphertext = EXCLUDED.access_token_ciphertext, \
                         refresh_token_ciphertext = EXCLUDED.refresh_token_ciphertext, \
                         encryption_key_id = EXCLUDED.encryption_key_id, \
                         token_expires_at = EXCLUDED.token_expires_at, \
                         calendar_id = coalesce(EXCLUDED.calendar_id, calendar_integrations.calendar_id), \
                         is_active = true \
                     RETURNING *",
                )
                .bind(org)
                .bind(user_id)
                .bind(provider)
                .bind(&sealed.access)
                .bind(&sealed.refresh)
                .bind(&sealed.key_id)
                .bind(tokens.expires_at)
                .bind(calendar_id)
                .fetch_one(&mut **tx)
                .await
                .map_err(|e| {
                    e.missing_parent(
                        "fk_calendar_integrations_organization_members",
                        entity::MEMBER,
                    )
                })?;
                audit::record(
                    tx,
                    org,
                    Entry::new("calendar_integration.connected", "calendar_integration", row.id)
                        .with_changes(serde_json::json!({"user_id": {"new": user_id}})),
                );
                Ok(row)
            })
            .await
    }

    /// A calendar integration (tokens sealed).
    #[tracing::instrument(name = "integrations.calendar", skip_all, fields(%id))]
    pub async fn calendar(&self, id: Uuid) -> Result<CalendarIntegration> {
        self.tenant
            .row_by_id(
                "SELECT * FROM calendar_integrations WHERE organization_id = $1 AND id = $2",
                id,
                entity::CALENDAR_INTEGRATION,
            )
            .await
    }

    /// The calendar integrations of the organization.
    #[tracing::instrument(name = "integrations.calendars", skip_all)]
    pub async fn calendars(&self) -> Result<Vec<CalendarIntegration>> {
        self.tenant
            .rows_of_organization(
                "SELECT * FROM calendar_integrations WHERE organization_id = $1 ORDER BY id",
            )
            .await
    }

    /// The opened tokens of a calendar integration, to call the provider.
    #[tracing::instrument(name = "integrations.calendar_tokens", skip_all, fields(%id))]
    pub async fn calendar_tokens(&self, id: Uuid) -> Result<OAuthTokens> {
        let row = self.calendar(id).await?;
        self.open_tokens(
            CALENDAR,
            row.encryption_key_id,
            row.access_token_ciphertext,
            row.refresh_token_ciphertext,
            row.token_expires_at,
        )
    }

    /// Records the outcome of a sync: its status and the provider's next sync cursor.
    #[tracing::instrument(name = "integrations.record_calendar_sync", skip_all, fields(%id))]
    pub async fn record_calendar_sync(
        &self,
        id: Uuid,
        status: CalendarSyncStatus,
        sync_cursor: Option<&str>,
    ) -> Result<CalendarIntegration> {
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                query_as(
                    "UPDATE calendar_integrations SET sync_status = $3, \
                         sync_cursor = coalesce($4, sync_cursor), last_sync_at = now() \
                     WHERE organization_id = $1 AND id = $2 RETURNING *",
                )
                .bind(org)
                .bind(id)
                .bind(status)
                .bind(sync_cursor)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(Error::not_found(entity::CALENDAR_INTEGRATION))
            })
            .await
    }

    /// Disconnects a calendar: the integration, its tokens and mirrored events are deleted.
    #[tracing::instrument(name = "integrations.disconnect_calendar", skip_all, fields(%id))]
    pub async fn disconnect_calendar(&self, id: Uuid) -> Result<()> {
        self.tenant
            .delete_audited(
                "DELETE FROM calendar_integrations WHERE organization_id = $1 AND id = $2",
                id,
                entity::CALENDAR_INTEGRATION,
                "calendar_integration.disconnected",
                "calendar_integration",
            )
            .await
    }

    /// Connects (or reconnects) an ad account with fresh tokens.
    #[tracing::instrument(name = "integrations.connect_marketing", skip_all)]
    pub async fn connect_marketing(
        &self,
        platform: MarketingPlatform,
        account_id: &str,
        tokens: &OAuthTokens,
    ) -> Result<MarketingIntegration> {
        let account_id = validate::required("account_id", account_id)?;
        let sealed = self.seal_tokens(MARKETING, tokens)?;
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                let row: MarketingIntegration = query_as(
                    "INSERT INTO marketing_integrations (organization_id, platform, account_id, \
                         access_token_ciphertext, refresh_token_ciphertext, encryption_key_id, \
                         token_expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (organization_id, platform, account_id) DO UPDATE SET \
                         access_token_ciphertext = EXCLUDED.access_token_ciphertext, \
                         refresh_token_ciphertext = EXCLUDED.refresh_token_ciphertext, \
                         encryption_key_id = EXCLUDED.encryption_key_id, \
                         token_expires_at = EXCLUDED.token_expires_at, \
                         is_active = true \
                     RETURNING *",
                )
                .bind(org)
                .bind(platform)
                .bind(&account_id)
                .bind(&sealed.access)
                .bind(&sealed.refresh)
                .bind(&sealed.key_id)
                .bind(tokens.expires_at)
                .fetch_one(&mut **tx)
                .await?;
                audit::record(
                    tx,
                    org,
                    Entry::new(
                        "marketing_integration.connected",
                        "marketing_integration",
                        row.id,
                    )
                    .with_changes(serde_json::json!({"account_id": {"new": row.account_id}})),
                );
                Ok(row)
            })
            .await
    }

    /// A marketing integration (tokens sealed).
    #[tracing::instrument(name = "integrations.marketing", skip_all, fields(%id))]
    pub async fn marketing(&self, id: Uuid) -> Result<MarketingIntegration> {
        self.tenant
            .row_by_id(
                "SELECT * FROM marketing_integrations WHERE organization_id = $1 AND id = $2",
                id,
                entity::MARKETING_INTEGRATION,
            )
            .await
    }

    /// The opened tokens of a marketing integration.
    #[tracing::instrument(name = "integrations.marketing_tokens", skip_all, fields(%id))]
    pub async fn marketing_tokens(&self, id: Uuid) -> Result<OAuthTokens> {
        let row = self.marketing(id).await?;
        self.open_tokens(
            MARKETING,
            row.encryption_key_id,
            row.access_token_ciphertext,
            row.refresh_token_ciphertext,
            row.token_expires_at,
        )
    }

    /// Counts `imported` more leads brought in by an import run.
    #[tracing::instrument(name = "integrations.record_import", skip_all, fields(%id))]
    pub async fn record_import(&self, id: Uuid, imported: i32) -> Result<MarketingIntegration> {
        if imported < 0 {
            return Err(Error::invalid("imported", "must not be negative"));
        }
        self.tenant
            .set_by_id(
                "UPDATE marketing_integrations SET last_import_at = now(), \
                     total_leads_imported = total_leads_imported + $3 \
                 WHERE organization_id = $1 AND id = $2 RETURNING *",
                id,
                imported,
                entity::MARKETING_INTEGRATION,
            )
            .await
    }

    /// Disconnects an ad account, deleting its tokens.
    #[tracing::instrument(name = "integrations.disconnect_marketing", skip_all, fields(%id))]
    pub async fn disconnect_marketing(&self, id: Uuid) -> Result<()> {
        self.tenant
            .delete_audited(
                "DELETE FROM marketing_integrations WHERE organization_id = $1 AND id = $2",
                id,
                entity::MARKETING_INTEGRATION,
                "marketing_integration.disconnected",
                "marketing_integration",
            )
            .await
    }

    /// Connects a WhatsApp number: credentials sealed, the verify token hashed; active.
    #[tracing::instrument(name = "integrations.connect_whatsapp", skip_all)]
    pub async fn connect_whatsapp(&self, new: &NewWhatsapp) -> Result<WhatsappConfig> {
        let phone = validate::phone("phone_number", &new.phone_number)?;
        let org = self.tenant.organization_id();
        let sealed = sealing::seal(
            self.tenant.db().keyring()?,
            org,
            "whatsapp_configs",
            CREDENTIALS,
            &new.credentials,
        );
        let verify_hash = new
            .webhook_verify_token
            .as_ref()
            .map(crmdb_secrets::hash_token);
        query_as(
            "INSERT INTO whatsapp_configs (organization_id, provider, phone_number, \
                         phone_number_id, business_account_id, webhook_verify_token_hash, \
                         credentials_ciphertext, encryption_key_id, setup_completed, is_active) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true, true) RETURNING *",
        )
        .bind(org)
        .bind(new.provider)
        .bind(&phone)
        .bind(&new.phone_number_id)
        .bind(&new.business_account_id)
        .bind(&verify_hash)
        .bind(&sealed.ciphertext)
        .bind(&sealed.key_id)
        .fetch_one(&self.tenant)
        .await
    }

    /// The opened credentials of a WhatsApp config.
    #[tracing::instrument(name = "integrations.whatsapp_credentials", skip_all, fields(%id))]
    pub async fn whatsapp_credentials(&self, id: Uuid) -> Result<SecretString> {
        let row: WhatsappConfig = self
            .tenant
            .row_by_id(
                "SELECT * FROM whatsapp_configs WHERE organization_id = $1 AND id = $2",
                id,
                entity::WHATSAPP_CONFIG,
            )
            .await?;
        self.open_credentials(
            "whatsapp_configs",
            row.encryption_key_id,
            row.credentials_ciphertext,
        )
    }

    /// Completes the setup of the organization's pending config of `provider` (created
    /// with the organization's defaults) with its number and credentials, and activates it.
    #[tracing::instrument(name = "integrations.configure_voip", skip_all)]
    pub async fn configure_voip(
        &self,
        provider: VoipProvider,
        phone_number: &str,
        credentials: &SecretString,
        cost_per_minute: Decimal,
    ) -> Result<VoipConfig> {
        let phone = validate::phone("phone_number", phone_number)?;
        if cost_per_minute.is_sign_negative() {
            return Err(Error::invalid("cost_per_minute", "must not be negative"));
        }
        let org = self.tenant.organization_id();
        let sealed = sealing::seal(
            self.tenant.db().keyring()?,
            org,
            "voip_configs",
            CREDENTIALS,
            credentials,
        );
        self.tenant
            .write(async |tx| {
                query_as(
                    "UPDATE voip_configs SET phone_number = $3, credentials_ciphertext = $4, \
                         encryption_key_id = $5, cost_per_minute = $6, setup_completed = true, \
                         is_active = true \
                     WHERE organization_id = $1 AND provider = $2 AND NOT setup_completed \
                     RETURNING *",
                )
                .bind(org)
                .bind(provider)
                .bind(&phone)
                .bind(&sealed.ciphertext)
                .bind(&sealed.key_id)
                .bind(cost_per_minute)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(Error::not_found(entity::PENDING_VOIP_CONFIG))
            })
            .await
    }

    /// The opened credentials of a VoIP config.
    #[tracing::instrument(name = "integrations.voip_credentials", skip_all, fields(%id))]
    pub async fn voip_credentials(&self, id: Uuid) -> Result<SecretString> {
        let row: VoipConfig = self
            .tenant
            .row_by_id(
                "SELECT * FROM voip_configs WHERE organization_id = $1 AND id = $2",
                id,
                entity::VOIP_CONFIG,
            )
            .await?;
        self.open_credentials(
            "voip_configs",
            row.encryption_key_id,
            row.credentials_ciphertext,
        )
    }

    /// Opens a config's sealed credentials; a config still awaiting setup has none.
    fn open_credentials(
        &self,
        table: &str,
        key_id: Option<String>,
        ciphertext: Option<Vec<u8>>,
    ) -> Result<SecretString> {
        let (Some(key_id), Some(ciphertext)) = (key_id, ciphertext) else {
            return Err(Error::not_found(entity::STORED_CREDENTIALS));
        };
        sealing::open(
            self.tenant.db().keyring()?,
            self.tenant.organization_id(),
            table,
            CREDENTIALS,
            key_id,
            ciphertext,
        )
    }
}
