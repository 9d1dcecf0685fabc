//! Provider routes: an account is routed to one organization at most, each organization
//! manages only its own, inbound webhooks find their organization without one entered, and
//! Stripe customers are not routed here (billing's link_customer does it).

use crmdb_store::models::{RouteProvider, WhatsappProvider};
use crmdb_store::ops::integrations::NewWhatsapp;
use crmdb_store::ops::provider_routes::InboundRoute;
use crmdb_store::sql::{query, query_scalar};
use crmdb_store::{Error, Tenant};
use secrecy::SecretString;
use uuid::Uuid;

use super::{assert_conflict, assert_invalid, assert_not_found, fixture};

fn whatsapp(phone_number: &str, phone_number_id: Option<&str>) -> NewWhatsapp {
    NewWhatsapp {
        provider: WhatsappProvider::BusinessApi,
        phone_number: phone_number.to_owned(),
        phone_number_id: phone_number_id.map(str::to_owned),
        business_account_id: None,
        credentials: SecretString::from("EAAG-test-credentials"),
        webhook_verify_token: None,
    }
}

async fn whatsapp_configs(tenant: &Tenant) -> i64 {
    let org = tenant.organization_id();
    tenant
        .transaction(async |tx| {
            query_scalar("SELECT count(*) FROM whatsapp_configs WHERE organization_id = $1")
                .bind(org)
                .fetch_one(&mut **tx)
                .await
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_route_is_registered_repointed_resolved_and_removed() {
    let f = fixture().await;
    let routes = f.tenant_a().provider_routes();
    let route = routes
        .register(RouteProvider::Twilio, " AC_A1 ", None)
        .await
        .unwrap();
    assert_eq!(route.external_account_id, "AC_A1");
    assert_eq!(route.organization_id, f.a.id());
    assert_eq!(route.config_id, None);
    assert_eq!(routes.list().await.unwrap(), vec![route.clone()]);
    assert_eq!(
        f.db.route_inbound(RouteProvider::Twilio, "AC_A1")
            .await
            .unwrap(),
        Some(InboundRoute {
            organization_id: f.a.id(),
            config_id: None
        })
    );
    assert_eq!(
        f.db.route_inbound(RouteProvider::Twilio, "AC_unknown")
            .await
            .unwrap(),
        None
    );
    // The same account of another provider is another route.
    assert_eq!(
        f.db.route_inbound(RouteProvider::Telnyx, "AC_A1")
            .await
            .unwrap(),
        None
    );

    let config = Uuid::now_v7();
    let repointed = routes
        .repoint(RouteProvider::Twilio, "AC_A1", Some(config))
        .await
        .unwrap();
    assert_eq!(repointed.config_id, Some(config));
    // Registering again (a retry) succeeds and points at the config it names.
    let again = routes
        .register(RouteProvider::Twilio, "AC_A1", None)
        .await
        .unwrap();
    assert_eq!(again.config_id, None);
    assert_eq!(routes.list().await.unwrap().len(), 1);

    routes.remove(RouteProvider::Twilio, "AC_A1").await.unwrap();
    assert!(routes.list().await.unwrap().is_empty());
    assert_eq!(
        f.db.route_inbound(RouteProvider::Twilio, "AC_A1")
            .await
            .unwrap(),
        None
    );
    assert_not_found(
        routes.remove(RouteProvider::Twilio, "AC_A1").await,
        "provider route",
    );
    assert_not_found(
        routes.repoint(RouteProvider::Twilio, "AC_A1", None).await,
        "provider route",
    );
    assert_invalid(
        routes.register(RouteProvider::Google, "  ", None).await,
        "external_account_id",
    );
}

#[tokio::test]
async fn an_account_routed_to_another_organization_is_a_conflict() {
    let f = fixture().await;
    let config = Uuid::now_v7();
    f.tenant_a()
        .provider_routes()
        .register(RouteProvider::Twilio, "AC123", Some(config))
        .await
        .unwrap();
    assert_conflict(
        f.tenant_b()
            .provider_routes()
            .register(RouteProvider::Twilio, "AC123", None)
            .await,
        "pk_provider_routes",
    );
    // The database itself refuses it: B cannot see A's row, but the primary key holds.
    let raw = f
        .tenant_b()
        .transaction(async |tx| {
            query(
                "INSERT INTO provider_routes (provider, external_account_id, organization_id) \
                 VALUES ('twilio', 'AC123', $1)",
            )
            .bind(tx.organization_id())
            .execute(&mut **tx)
            .await
        })
        .await;
    assert_conflict(raw, "pk_provider_routes");
    assert!(f
        .tenant_b()
        .provider_routes()
        .list()
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        f.db.route_inbound(RouteProvider::Twilio, "AC123")
            .await
            .unwrap(),
        Some(InboundRoute {
            organization_id: f.a.id(),
            config_id: Some(config)
        })
    );
}

#[tokio::test]
async fn an_organization_cannot_see_repoint_or_remove_another_organizations_routes() {
    let f = fixture().await;
    let b_config = Uuid::now_v7();
    let b_routes = f.tenant_b().provider_routes();
    b_routes
        .register(RouteProvider::Whatsapp, "PN-B", Some(b_config))
        .await
        .unwrap();
    b_routes
        .register(RouteProvider::Facebook, "page-b", None)
        .await
        .unwrap();
    let before = b_routes.list().await.unwrap();
    assert_eq!(before.len(), 2);

    // As the attacker, through A's handle.
    let a_routes = f.tenant_a().provider_routes();
    assert!(a_routes.list().await.unwrap().is_empty());
    assert_not_found(
        a_routes
            .repoint(RouteProvider::Whatsapp, "PN-B", Some(Uuid::now_v7()))
            .await,
        "provider route",
    );
    assert_not_found(
        a_routes.remove(RouteProvider::Whatsapp, "PN-B").await,
        "provider route",
    );
    assert_not_found(
        a_routes.remove(RouteProvider::Facebook, "page-b").await,
        "provider route",
    );
    assert_conflict(
        a_routes
            .register(RouteProvider::Whatsapp, "PN-B", None)
            .await,
        "pk_provider_routes",
    );
    let a_org = f.a.id();
    let visible: i64 = f
        .tenant_a()
        .transaction(async |tx| {
            query_scalar("SELECT count(*) FROM provider_routes")
                .fetch_one(&mut **tx)
                .await
        })
        .await
        .unwrap();
    assert_eq!(
        visible, 0,
        "row-level security hides B's routes from {a_org}"
    );

    assert_eq!(b_routes.list().await.unwrap(), before);
    assert_eq!(
        f.db.route_inbound(RouteProvider::Whatsapp, "PN-B")
            .await
            .unwrap(),
        Some(InboundRoute {
            organization_id: f.b.id(),
            config_id: Some(b_config)
        })
    );
}

#[tokio::test]
async fn connecting_whatsapp_routes_its_phone_number_id_in_the_same_transaction() {
    let f = fixture().await;
    let config = f
        .tenant_a()
        .integrations()
        .connect_whatsapp(&whatsapp("+5511999990001", Some("1098765")))
        .await
        .unwrap();
    assert_eq!(
        f.db.route_inbound(RouteProvider::Whatsapp, "1098765")
            .await
            .unwrap(),
        Some(InboundRoute {
            organization_id: f.a.id(),
            config_id: Some(config.id)
        })
    );

    // Another organization connecting the same phone number id is refused as a whole.
    assert_conflict(
        f.tenant_b()
            .integrations()
            .connect_whatsapp(&whatsapp("+5511999990002", Some("1098765")))
            .await,
        "pk_provider_routes",
    );
    assert_eq!(whatsapp_configs(&f.tenant_b()).await, 0);
    assert!(f
        .tenant_b()
        .provider_routes()
        .list()
        .await
        .unwrap()
        .is_empty());

    // Without a phone number id nothing is routed.
    f.tenant_b()
        .integrations()
        .connect_whatsapp(&whatsapp("+5511999990003", None))
        .await
        .unwrap();
    assert!(f
        .tenant_b()
        .provider_routes()
        .list()
        .await
        .unwrap()
        .is_empty());

    // A config that fails (the same number again) leaves no route behind.
    assert!(matches!(
        f.tenant_a()
            .integrations()
            .connect_whatsapp(&whatsapp("+5511999990001", Some("2222222")))
            .await,
        Err(Error::Conflict { .. })
    ));
    assert_eq!(
        f.db.route_inbound(RouteProvider::Whatsapp, "2222222")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn stripe_customers_cannot_be_routed_here_so_a_cannot_take_over_bs_customer() {
    let f = fixture().await;
    let a_routes = f.tenant_a().provider_routes();
    // As the attacker: A routes B's Stripe customer to itself before B links it.
    assert_invalid(
        a_routes
            .register(RouteProvider::Stripe, "cus_Bravo", None)
            .await,
        "provider",
    );
    assert_invalid(
        a_routes
            .repoint(RouteProvider::Stripe, "cus_Bravo", None)
            .await,
        "provider",
    );
    assert_invalid(
        a_routes.remove(RouteProvider::Stripe, "cus_Bravo").await,
        "provider",
    );
    assert!(a_routes.list().await.unwrap().is_empty());
    assert_eq!(
        f.db.route_inbound(RouteProvider::Stripe, "cus_Bravo")
            .await
            .unwrap(),
        None,
        "nothing routed: B can still link its customer"
    );
}
