//! Provider routes: which organization (and which of its config rows) owns a provider
//! account (a WhatsApp phone number id, a Stripe customer, a Twilio account), so that an
//! inbound webhook, which names only the account, reaches its organization. An account is
//! routed to one organization at most across the whole database. Stripe customers are not
//! managed here: billing's `link_customer` routes one only together with the subscription
//! it pays for, so an organization cannot claim another's customer (and its events).

use uuid::Uuid;

use crate::db::{Conn, Db, Last, Tenant};
use crate::error::{entity, Error, Result};
use crate::models::{ProviderRoute, RouteProvider};
use crate::ops::audit::{self, Entry};
use crate::sql::{query_as, row_struct};
use crate::validate;

row_struct! {
    /// The owner of an inbound provider account: its organization and config row.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct InboundRoute {
        pub organization_id: Uuid,
        pub config_id: Option<Uuid>,
    }
}

/// The provider routes of one organization.
#[derive(Debug, Clone)]
pub struct ProviderRoutes {
    tenant: Tenant,
}

impl Tenant {
    /// The organization's provider accounts, for routing inbound webhooks.
    pub fn provider_routes(&self) -> ProviderRoutes {
        ProviderRoutes {
            tenant: self.clone(),
        }
    }
}

impl Db {
    /// The organization that owns the account `external_account_id` of `provider`, for a
    /// webhook that arrives before any organization is known; `None` for an account no
    /// organization registered.
    #[tracing::instrument(name = "provider_routes.route_inbound", skip_all, fields(%provider))]
    pub async fn route_inbound(
        &self,
        provider: RouteProvider,
        external_account_id: &str,
    ) -> Result<Option<InboundRoute>> {
        // Row-level security hides every route without an organization: the definer
        // function reads the one asked for.
        let mut tx = self.begin_global(None).await?;
        query_as("SELECT * FROM route_inbound($1, $2)")
            .bind(provider)
            .bind(external_account_id)
            .fetch_optional(Last(&mut tx))
            .await
    }
}

/// Routes `external_account_id` of `provider` to `org` and its config `config_id` on `conn`,
/// an open transaction of `org`. An account this organization already routes is pointed at
/// `config_id`; one another organization routes is a conflict on `pk_provider_routes`
/// (that row is invisible here, but the primary key still refuses a second one).
pub(crate) async fn route(
    conn: &mut Conn,
    org: Uuid,
    provider: RouteProvider,
    external_account_id: &str,
    config_id: Option<Uuid>,
) -> Result<ProviderRoute> {
    // One statement: both parts read the snapshot from before the insert, so the update
    // finds only a route of this organization that existed already.
    let route: Option<ProviderRoute> = query_as(
        "WITH inserted AS ( \
             INSERT INTO provider_routes (organization_id, provider, external_account_id, config_id) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING *), \
         repointed AS ( \
             UPDATE provider_routes SET config_id = $4 \
             WHERE organization_id = $1 AND provider = $2 AND external_account_id = $3 \
               AND NOT EXISTS (SELECT 1 FROM inserted) \
             RETURNING *) \
         SELECT * FROM inserted UNION ALL SELECT * FROM repointed",
    )
    .bind(org)
    .bind(provider)
    .bind(external_account_id)
    .bind(config_id)
    .fetch_optional(conn)
    .await?;
    route.ok_or_else(|| Error::Conflict {
        constraint: "pk_provider_routes".to_owned(),
    })
}

/// `provider`, refused when it is Stripe: a Stripe customer's route decides which
/// organization its subscription and invoices land in, so only billing's `link_customer`
/// makes one.
fn managed_here(provider: RouteProvider) -> Result<RouteProvider> {
    if provider == RouteProvider::Stripe {
        return Err(Error::invalid(
            "provider",
            "Stripe customers are routed by billing's link_customer only",
        ));
    }
    Ok(provider)
}

impl ProviderRoutes {
    /// Routes the account `external_account_id` of `provider` to this organization and its
    /// config row `config_id`. Registering an account this organization already routes
    /// points it at `config_id` (a retried registration succeeds); an account routed to
    /// another organization is a conflict on `pk_provider_routes`. Stripe is refused
    /// (invalid `provider`): see the module's docs.
    #[tracing::instrument(name = "provider_routes.register", skip_all, fields(%provider))]
    pub async fn register(
        &self,
        provider: RouteProvider,
        external_account_id: &str,
        config_id: Option<Uuid>,
    ) -> Result<ProviderRoute> {
        let provider = managed_here(provider)?;
        let external_account_id = validate::required("external_account_id", external_account_id)?;
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                let route = route(tx, org, provider, &external_account_id, config_id).await?;
                audit::record(tx, org, route_entry("provider_route.registered", &route));
                Ok(route)
            })
            .await
    }

    /// The organization's routes, by provider and account.
    #[tracing::instrument(name = "provider_routes.list", skip_all)]
    pub async fn list(&self) -> Result<Vec<ProviderRoute>> {
        self.tenant
            .rows_of_organization(
                "SELECT * FROM provider_routes WHERE organization_id = $1 \
                 ORDER BY provider, external_account_id",
            )
            .await
    }

    /// Points a route of this organization at another config row (or none); Stripe is
    /// refused (invalid `provider`).
    #[tracing::instrument(name = "provider_routes.repoint", skip_all, fields(%provider))]
    pub async fn repoint(
        &self,
        provider: RouteProvider,
        external_account_id: &str,
        config_id: Option<Uuid>,
    ) -> Result<ProviderRoute> {
        let provider = managed_here(provider)?;
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                let route: ProviderRoute = query_as(
                    "UPDATE provider_routes SET config_id = $4 \
                     WHERE organization_id = $1 AND provider = $2 AND external_account_id = $3 \
                     RETURNING *",
                )
                .bind(org)
                .bind(provider)
                .bind(external_account_id)
                .bind(config_id)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(Error::not_found(entity::PROVIDER_ROUTE))?;
                audit::record(tx, org, route_entry("provider_route.repointed", &route));
                Ok(route)
            })
            .await
    }

    /// Removes a route of this organization: the account's webhooks reach no one until it
    /// is registered again. Stripe is refused (invalid `provider`).
    #[tracing::instrument(name = "provider_routes.remove", skip_all, fields(%provider))]
    pub async fn remove(&self, provider: RouteProvider, external_account_id: &str) -> Result<()> {
        let provider = managed_here(provider)?;
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                let removed: ProviderRoute = query_as(
                    "DELETE FROM provider_routes \
                     WHERE organization_id = $1 AND provider = $2 AND external_account_id = $3 \
                     RETURNING *",
                )
                .bind(org)
                .bind(provider)
                .bind(external_account_id)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(Error::not_found(entity::PROVIDER_ROUTE))?;
                audit::record(tx, org, route_entry("provider_route.removed", &removed));
                Ok(())
            })
            .await
    }
}

/// The audit entry of a change to `route`: routes have no id of their own, so the entry
/// names the account (an identifier at the provider, not a secret) and where it points.
fn route_entry(action: &'static str, route: &ProviderRoute) -> Entry {
    Entry::new(action, "provider_route", None).with_changes(serde_json::json!({
        "provider": route.provider,
        "external_account_id": route.external_account_id,
        "config_id": route.config_id,
    }))
}
