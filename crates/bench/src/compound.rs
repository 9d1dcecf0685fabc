//! The latency of an operation of three dependent writes in one tenant transaction — a new
//! lead with a note and a tag, as a service writes it — the figure that shows what a write
//! costs through the data layer. The lead's id is made on the client, so no insert needs
//! an answer of another: the three are deferred ([`Conn::defer`](crmdb_store::Conn::defer))
//! and go out with the `COMMIT`, the whole transaction in one round trip. The leads it
//! creates carry [`LEAD_NAME`] and are deleted afterwards, so a run against an existing
//! database leaves it as it was.

use std::sync::Arc;
use std::time::Instant;

use crmdb_store::sql::query;
use crmdb_store::Db;
use rand::rngs::StdRng;
use serde::Serialize;
use uuid::Uuid;

use crate::sample::{Placement, Sample};
use crate::timing::drive;
use crate::{Error, Settings};

/// The operation's name in the report.
pub(crate) const NAME: &str = "lead_with_note_and_tag";

/// The name of every lead the operation creates, by which they are removed again.
const LEAD_NAME: &str = "crmdb bench: lead with a note and a tag";

/// The figures of the three-statement operation.
#[derive(Debug, Serialize)]
pub struct CompoundResult {
    pub name: &'static str,
    /// The statements the operation runs, each depending on nothing the others return.
    pub statements: u32,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub qps: f64,
}

/// Times the operation from the settings' clients, then deletes the leads it created.
pub(crate) async fn measure(
    db: &Db,
    sample: &Arc<Sample>,
    settings: &Settings,
) -> Result<CompoundResult, Error> {
    let (state, shared) = (db.clone(), sample.clone());
    let step = move |mut rng: StdRng| {
        let (db, sample) = (state.clone(), shared.clone());
        async move {
            let placement = sample
                .placement(&mut rng)
                .ok_or(Error::NothingToSample { query: NAME })?;
            let start = Instant::now();
            create(&db, placement).await?;
            Ok((rng, vec![start.elapsed()]))
        }
    };
    let timings = drive(settings, 1, step).await?.remove(0);
    for organization in sample.organization_ids() {
        remove(db, organization).await?;
    }
    Ok(CompoundResult {
        name: NAME,
        statements: 3,
        p50_ms: timings.percentile_ms(50.0),
        p99_ms: timings.percentile_ms(99.0),
        qps: timings.qps,
    })
}

/// The operation: the lead's id is made here, so the note and the tag need nothing back
/// from the lead's insert, and all three go out with the `COMMIT`.
async fn create(db: &Db, at: Placement) -> Result<(), Error> {
    let lead = Uuid::now_v7();
    db.tenant(at.organization)
        .transaction(async |tx| {
            tx.defer(
                query(
                    "INSERT INTO leads (organization_id, id, pipeline_id, stage_id, name) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(at.organization)
                .bind(lead)
                .bind(at.pipeline)
                .bind(at.stage)
                .bind(LEAD_NAME)
                .into_statement(),
            );
            tx.defer(
                query(
                    "INSERT INTO lead_notes (organization_id, lead_id, body) VALUES ($1, $2, $3)",
                )
                .bind(at.organization)
                .bind(lead)
                .bind("first contact by phone")
                .into_statement(),
            );
            tx.defer(
                query(
                    "INSERT INTO lead_tags (organization_id, lead_id, tag_id) VALUES ($1, $2, $3)",
                )
                .bind(at.organization)
                .bind(lead)
                .bind(at.tag)
                .into_statement(),
            );
            Ok(())
        })
        .await?;
    Ok(())
}

/// Deletes the operation's leads of one organization (their notes and tags go with them),
/// in a tenant transaction of its own.
async fn remove(db: &Db, organization: Uuid) -> Result<(), Error> {
    query("DELETE FROM leads WHERE organization_id = $1 AND name = $2")
        .bind(organization)
        .bind(LEAD_NAME)
        .execute(&db.tenant(organization))
        .await?;
    Ok(())
}
