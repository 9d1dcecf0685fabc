//! The data layer (`crmdb-store`) against a real database: every operation with its error
//! cases, isolation between organizations, secrets at rest, and the job queue.

mod audit;
mod billing;
mod calendar;
mod closed_sets;
mod communications;
mod connected;
mod custom_fields;
mod isolation;
mod jobs;
mod leads;
mod members;
mod notes_tasks;
mod notifications;
mod organizations;
mod pipelines;
mod provider_routes;
mod scoring;
mod secrets;
mod sessions;
mod templates;
mod webhook_deliveries;

use std::sync::Arc;

use crmdb_secrets::{Key, Keyring};
use crmdb_seed::NewOrganization;
use crmdb_store::models::{MemberRole, Organization, PipelineStage};
use crmdb_store::ops::organizations::NewUser;
use crmdb_store::{Db, Error, Tenant};
use crmdb_testkit::TestDb;
use uuid::Uuid;

/// A migrated database with two organizations, A and B, each with an owner and an agent.
pub struct Fixture {
    pub test_db: TestDb,
    /// As the application login.
    pub db: Db,
    /// As the worker login.
    pub worker_db: Db,
    pub a: Org,
    pub b: Org,
}

/// One organization of the fixture.
pub struct Org {
    pub organization: Organization,
    pub owner: Uuid,
    pub agent: Uuid,
    pub stages: Vec<PipelineStage>,
}

impl Org {
    pub fn id(&self) -> Uuid {
        self.organization.id
    }

    pub fn pipeline_id(&self) -> Uuid {
        self.stages[0].pipeline_id
    }
}

impl Fixture {
    pub fn tenant_a(&self) -> Tenant {
        self.db.tenant(self.a.id())
    }

    pub fn tenant_b(&self) -> Tenant {
        self.db.tenant(self.b.id())
    }
}

pub fn keyring() -> Arc<Keyring> {
    Arc::new(Keyring::new(vec![Key::generate()]).unwrap())
}

pub async fn fixture() -> Fixture {
    let test_db = crmdb_testkit::migrated_db().await;
    let keyring = keyring();
    let db = Db::connect(&test_db.app_url().await)
        .await
        .unwrap()
        .with_keyring(keyring.clone());
    let worker_db = Db::connect(&test_db.worker_url().await)
        .await
        .unwrap()
        .with_keyring(keyring);
    let a = org(&db, "a").await;
    let b = org(&db, "b").await;
    Fixture {
        test_db,
        db,
        worker_db,
        a,
        b,
    }
}

pub async fn user(db: &Db, email: &str) -> Uuid {
    db.users()
        .create(&NewUser {
            email: email.to_owned(),
            full_name: format!("User {email}"),
            phone: None,
            password: None,
        })
        .await
        .unwrap()
        .id
}

async fn org(db: &Db, name: &str) -> Org {
    let owner = user(db, &format!("owner@{name}.example")).await;
    let agent = user(db, &format!("agent@{name}.example")).await;
    let organization = db
        .organizations()
        .create(
            &NewOrganization::new(format!("Org {name}"), format!("org-{name}")),
            Some(owner),
        )
        .await
        .unwrap();
    let tenant = db.tenant(organization.id);
    tenant
        .members()
        .add(agent, MemberRole::Agent)
        .await
        .unwrap();
    let pipeline = tenant.pipelines().default_pipeline().await.unwrap();
    let stages = tenant.pipelines().stages(pipeline.id).await.unwrap();
    Org {
        organization,
        owner,
        agent,
        stages,
    }
}

/// Asserts that `result` failed with "`entity` not found".
#[track_caller]
pub fn assert_not_found<T: std::fmt::Debug>(result: Result<T, Error>, entity: &str) {
    match result {
        Err(Error::NotFound { entity: e }) if e == entity => {}
        other => panic!("expected {entity} not found, got {other:?}"),
    }
}

/// Asserts that `result` failed with a conflict on `constraint`.
#[track_caller]
pub fn assert_conflict<T: std::fmt::Debug>(result: Result<T, Error>, constraint: &str) {
    match result {
        Err(Error::Conflict { constraint: c }) if c == constraint => {}
        other => panic!("expected a conflict on {constraint}, got {other:?}"),
    }
}

/// Asserts that `result` failed with invalid input in `field`.
#[track_caller]
pub fn assert_invalid<T: std::fmt::Debug>(result: Result<T, Error>, field: &str) {
    match result {
        Err(Error::InvalidInput { field: f, .. }) if f == field => {}
        other => panic!("expected invalid {field}, got {other:?}"),
    }
}

/// Asserts that `result` failed as forbidden.
#[track_caller]
pub fn assert_forbidden<T: std::fmt::Debug>(result: Result<T, Error>) {
    match result {
        Err(Error::Forbidden { .. }) => {}
        other => panic!("expected forbidden, got {other:?}"),
    }
}
