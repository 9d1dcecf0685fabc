//! The paths of one hot query timed into its [`QueryResult`]: through the data layer, as
//! raw SQL, and under row-level security against the owner, with its plan checked.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crmdb_store::hot::HotQuery;
use crmdb_store::Db;
use deadpool_postgres::Pool;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::call::{Call, Workers};
use crate::sample::Sample;
use crate::timing::{drive, ratio, Timings};
use crate::{plan, Error, QueryResult, Settings};

/// Checks the plan of `query`, then times its paths one after the other, each with the
/// same seed so that they draw the same calls. A login that row-level security applies to
/// (`sees_past_rls` false) has no path without it: its raw statements enter the
/// organization first, and the comparison with the owner is left out.
pub(crate) async fn measure(
    query: &'static HotQuery,
    db: &Db,
    raw: &Pool,
    sample: &Arc<Sample>,
    settings: &Settings,
    sees_past_rls: bool,
) -> Result<QueryResult, Error> {
    let planned = sample.draw(query, &mut StdRng::seed_from_u64(settings.seed))?;
    let uses_index = plan::uses_index(&planned, db).await?;

    let layer = time_path(
        query,
        sample,
        settings,
        (db.clone(), Workers::new(db, "bench-layer")),
        |(db, workers), call| async move {
            let start = Instant::now();
            call.layer(&db, &workers).await?;
            Ok(start.elapsed())
        },
    )
    .await?;
    let statements = db.statements();
    let raw_timings = time_path(
        query,
        sample,
        settings,
        raw.clone(),
        move |pool, call| async move { call.raw(&pool, !sees_past_rls, statements).await },
    )
    .await?;
    // The claims span organizations and the session look-up enters none, so they have no
    // row-level security path.
    let rls = match planned.organization() {
        Some(_) if sees_past_rls => Some(rls_against_owner(query, db, sample, settings).await?),
        _ => None,
    };
    let p99 = layer.percentile_ms(99.0);
    let raw_p99 = raw_timings.percentile_ms(99.0);
    let at = |p: f64| match &rls {
        Some((rls, owner)) => (Some(rls.percentile_ms(p)), Some(owner.percentile_ms(p))),
        None => (None, None),
    };
    let (rls_p99, owner_p99) = at(99.0);
    let (rls_p50, owner_p50) = at(50.0);
    Ok(QueryResult {
        name: query.name,
        p50_ms: layer.percentile_ms(50.0),
        p95_ms: layer.percentile_ms(95.0),
        p99_ms: p99,
        qps: layer.qps,
        uses_index,
        raw_p99_ms: raw_p99,
        index: query.index,
        raw_p50_ms: raw_timings.percentile_ms(50.0),
        raw_qps: raw_timings.qps,
        overhead: ratio(p99, raw_p99),
        overhead_p50: ratio(layer.percentile_ms(50.0), raw_timings.percentile_ms(50.0)),
        rls_p99_ms: rls_p99,
        owner_p99_ms: owner_p99,
        rls_ratio: rls_p99.zip(owner_p99).map(|(r, o)| ratio(r, o)),
        rls_p50_ms: rls_p50,
        owner_p50_ms: owner_p50,
        rls_ratio_p50: rls_p50.zip(owner_p50).map(|(r, o)| ratio(r, o)),
    })
}

/// Times one path: every step draws a random call of `query` and runs it with its own copy
/// of `state` (pools, workers); `run` returns the time of the call itself.
async fn time_path<S, F, Fut>(
    query: &'static HotQuery,
    sample: &Arc<Sample>,
    settings: &Settings,
    state: S,
    run: F,
) -> Result<Timings, Error>
where
    S: Clone + Send + Sync + 'static,
    F: Fn(S, Call) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<Duration, Error>> + Send + 'static,
{
    let sample = sample.clone();
    let step = move |mut rng: StdRng| {
        let (state, sample) = (state.clone(), sample.clone());
        async move {
            let call = sample.draw(query, &mut rng)?;
            let elapsed = run(state, call).await?;
            Ok((rng, vec![elapsed]))
        }
    };
    let mut paths = drive(settings, 1, step).await?;
    Ok(paths.remove(0))
}

/// Row-level security against the owner: interleaved in one loop, so both see the same
/// load, and alternated in order so neither always runs on a warmer cache. Both run on the
/// data layer's pool, in transactions of the same round trips.
async fn rls_against_owner(
    query: &'static HotQuery,
    db: &Db,
    sample: &Arc<Sample>,
    settings: &Settings,
) -> Result<(Timings, Timings), Error> {
    let (db, sample) = (db.clone(), sample.clone());
    let step = move |mut rng: StdRng| {
        let (db, sample) = (db.clone(), sample.clone());
        async move {
            let call = sample.draw(query, &mut rng)?;
            let org = call
                .organization()
                .expect("tenant queries have an organization");
            let rls_first = rng.gen_bool(0.5);
            let mut rls = Duration::ZERO;
            let mut owner = Duration::ZERO;
            for turn in 0..2 {
                let start = Instant::now();
                if (turn == 0) == rls_first {
                    call.rls(&db, org).await?;
                    rls = start.elapsed();
                } else {
                    call.owner(&db, org).await?;
                    owner = start.elapsed();
                }
            }
            Ok((rng, vec![rls, owner]))
        }
    };
    let mut paths = drive(settings, 2, step).await?;
    let owner = paths.remove(1);
    let rls = paths.remove(0);
    Ok((rls, owner))
}
