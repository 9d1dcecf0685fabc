//! The defaults of the catalog: the global plan catalogue and, per organization, the
//! default pipeline with its stages, the message templates, the VoIP configs awaiting
//! setup and the baseline scoring model. Idempotent: rows have stable ids and are inserted
//! with `ON CONFLICT DO NOTHING`, so a re-run inserts nothing and never overwrites a row
//! the organization has customised.

use serde::Serialize;
use sqlx::{Acquire, PgConnection};
use uuid::Uuid;

use crate::data::Defaults;
use crate::ids::stable_id;
use crate::{db, SeedError};

/// The scope of the global rows' stable ids.
const GLOBAL: Uuid = Uuid::nil();

/// An organization to create. `None` fields take the schema's defaults (pt-BR,
/// America/Sao_Paulo, BRL).
#[derive(Debug, Clone, Default)]
pub struct NewOrganization {
    pub name: String,
    pub slug: String,
    pub locale: Option<String>,
    pub timezone: Option<String>,
    pub currency: Option<String>,
}

impl NewOrganization {
    pub fn new(name: impl Into<String>, slug: impl Into<String>) -> NewOrganization {
        NewOrganization {
            name: name.into(),
            slug: slug.into(),
            ..NewOrganization::default()
        }
    }
}

/// Rows inserted, per kind of default. All zero when everything was already there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SeedReport {
    pub organizations: u64,
    pub plans: u64,
    pub pipelines: u64,
    pub pipeline_stages: u64,
    pub message_templates: u64,
    pub voip_configs: u64,
    pub lead_scoring_models: u64,
}

impl SeedReport {
    /// Rows inserted in total (organizations visited are not rows).
    pub fn rows(&self) -> u64 {
        self.plans
            + self.pipelines
            + self.pipeline_stages
            + self.message_templates
            + self.voip_configs
            + self.lead_scoring_models
    }

    fn add(&mut self, other: SeedReport) {
        self.organizations += other.organizations;
        self.plans += other.plans;
        self.pipelines += other.pipelines;
        self.pipeline_stages += other.pipeline_stages;
        self.message_templates += other.message_templates;
        self.voip_configs += other.voip_configs;
        self.lead_scoring_models += other.lead_scoring_models;
    }
}

/// The stable id of a plan of the catalogue.
pub fn plan_id(code: &str) -> Uuid {
    stable_id(GLOBAL, "plan", code)
}

/// The stable id of an organization's default pipeline.
pub fn pipeline_id(organization_id: Uuid) -> Uuid {
    stable_id(organization_id, "pipeline", "default")
}

/// The stable id of a default stage, by its name in `seeds/pipeline.toml`.
pub fn stage_id(organization_id: Uuid, stage: &str) -> Uuid {
    stable_id(organization_id, "pipeline_stage", stage)
}

/// The stable id of a default template, by its name in `seeds/message_templates.toml`.
pub fn template_id(organization_id: Uuid, template: &str) -> Uuid {
    stable_id(organization_id, "message_template", template)
}

/// The stable id of a default VoIP config, by provider.
pub fn voip_config_id(organization_id: Uuid, provider: &str) -> Uuid {
    stable_id(organization_id, "voip_config", provider)
}

/// The stable id of the baseline scoring model.
pub fn scoring_model_id(organization_id: Uuid, name: &str, version: &str) -> Uuid {
    stable_id(
        organization_id,
        "lead_scoring_model",
        &format!("{name}@{version}"),
    )
}

/// WhatsApp's component list for a template body submitted to Meta.
pub fn whatsapp_components(content: &str) -> serde_json::Value {
    serde_json::json!([{ "type": "BODY", "text": content }])
}

/// Inserts the plans of the catalogue that are missing (by code).
pub async fn seed_globals(conn: &mut PgConnection) -> Result<SeedReport, SeedError> {
    seed_globals_at(conn, None).await
}

/// [`seed_globals`], the plans inserted created at `at` instead of now when given: the
/// demo passes its fixed time so its data repeats byte for byte.
pub async fn seed_globals_at(
    conn: &mut PgConnection,
    at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<SeedReport, SeedError> {
    let plans = &Defaults::embedded()?.plans;
    let inserted = sqlx::query(
        "INSERT INTO plans (id, code, name, price_cents, currency, billing_interval, limits, \
                            stripe_price_id, created_at, updated_at) \
         SELECT p.*, coalesce($9, now()), coalesce($9, now()) \
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::text[], \
                     $6::text[], $7::jsonb[], $8::text[]) AS p \
         ON CONFLICT DO NOTHING",
    )
    .bind(plans.iter().map(|p| plan_id(&p.code)).collect::<Vec<_>>())
    .bind(plans.iter().map(|p| p.code.clone()).collect::<Vec<_>>())
    .bind(plans.iter().map(|p| p.name.clone()).collect::<Vec<_>>())
    .bind(plans.iter().map(|p| p.price_cents).collect::<Vec<_>>())
    .bind(plans.iter().map(|p| p.currency.clone()).collect::<Vec<_>>())
    .bind(
        plans
            .iter()
            .map(|p| p.billing_interval.clone())
            .collect::<Vec<_>>(),
    )
    .bind(
        plans
            .iter()
            .map(|p| serde_json::Value::Object(p.limits.clone()))
            .collect::<Vec<_>>(),
    )
    .bind(
        plans
            .iter()
            .map(|p| p.stripe_price_id.clone())
            .collect::<Vec<_>>(),
    )
    .bind(at)
    .execute(&mut *conn)
    .await
    .map_err(db("seeding the plan catalogue"))?
    .rows_affected();
    Ok(SeedReport {
        plans: inserted,
        ..SeedReport::default()
    })
}

/// Inserts the defaults the organization is missing, in one transaction (a savepoint when
/// `conn` is already in one). The pipeline and its stages are one unit: stages are only
/// added together with the pipeline, so a stage the organization deleted stays deleted.
pub async fn seed_organization(
    conn: &mut PgConnection,
    organization_id: Uuid,
) -> Result<SeedReport, SeedError> {
    let mut tx = conn
        .begin()
        .await
        .map_err(db("starting the seed transaction"))?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM organizations WHERE id = $1)")
            .bind(organization_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db("looking up the organization"))?;
    if !exists {
        return Err(SeedError::NoSuchOrganization(organization_id));
    }
    // Row-level security is forced on tenant tables, for their owner too: the inserts
    // below must run as the organization.
    crmdb_pg::tenancy::set_organization(&mut tx, organization_id)
        .await
        .map_err(db("selecting the organization"))?;
    let mut report = SeedReport {
        organizations: 1,
        ..SeedReport::default()
    };
    insert_defaults(&mut tx, organization_id, &mut report).await?;
    tx.commit()
        .await
        .map_err(db("committing the organization's defaults"))?;
    Ok(report)
}

/// The global defaults, then the defaults of every organization (each in its own
/// transaction).
pub async fn seed_all(conn: &mut PgConnection) -> Result<SeedReport, SeedError> {
    let mut report = seed_globals(conn).await?;
    let organizations: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM organizations ORDER BY id")
        .fetch_all(&mut *conn)
        .await
        .map_err(db("listing the organizations"))?;
    for organization_id in organizations {
        report.add(seed_organization(conn, organization_id).await?);
    }
    Ok(report)
}

/// Inserts organization `$1` (name, slug, then locale, timezone and currency or `NULL` for
/// the schema's defaults) and returns its id, or no row when the slug is taken. The
/// organization must be entered for row-level security first.
pub const INSERT_ORGANIZATION: &str =
    "INSERT INTO organizations (id, name, slug, locale, timezone, currency) \
     VALUES ($1, $2, $3, coalesce($4, 'pt-BR'), coalesce($5, 'America/Sao_Paulo'), \
             coalesce($6, 'BRL')) \
     ON CONFLICT (slug) DO NOTHING \
     RETURNING id";

/// Creates an organization and seeds its defaults, inside the caller's transaction: commit
/// it and both exist, roll it back and neither does. Leaves the organization setting
/// ([`crmdb_pg::tenancy::ORGANIZATION_SETTING`]) set to the new organization until the end of that transaction.
pub async fn create_organization(
    tx: &mut PgConnection,
    org: &NewOrganization,
) -> Result<Uuid, SeedError> {
    // The organization is entered before it exists: row-level security lets the
    // application role insert only the organization it entered.
    let organization_id = Uuid::now_v7();
    crmdb_pg::tenancy::set_organization(&mut *tx, organization_id)
        .await
        .map_err(db("selecting the new organization"))?;
    let inserted: Option<Uuid> = sqlx::query_scalar(INSERT_ORGANIZATION)
        .bind(organization_id)
        .bind(&org.name)
        .bind(&org.slug)
        .bind(&org.locale)
        .bind(&org.timezone)
        .bind(&org.currency)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db(format!("creating organization {:?}", org.slug)))?;
    if inserted.is_none() {
        return Err(SeedError::SlugTaken {
            slug: org.slug.clone(),
        });
    };
    seed_organization(tx, organization_id).await?;
    Ok(organization_id)
}

/// Inserts the defaults of organization `$1` that it is missing, from the document `$2`
/// that [`organization_defaults`] makes, in one statement, and returns the rows inserted
/// per table. One statement, with parameters any driver binds (a uuid and a jsonb), so the
/// seeds and the data layer — on different drivers — run the same SQL, and creating an
/// organization costs one round trip for all its defaults. The stages go in only together
/// with the pipeline, so a stage the organization deleted stays deleted.
pub const ORGANIZATION_DEFAULTS: &str = "\
WITH pipeline AS (
    INSERT INTO pipelines (organization_id, id, name, is_default, position)
    SELECT $1, (d->>'pipeline_id')::uuid, d->>'pipeline_name', true, 0
    FROM (SELECT $2::jsonb AS d) AS document
    ON CONFLICT DO NOTHING
    RETURNING id
), stages AS (
    INSERT INTO pipeline_stages (organization_id, id, pipeline_id, name, stage_order, color,
                                 stage_type, win_probability)
    SELECT $1, s.id, p.id, s.name, s.stage_order, s.color, s.stage_type, s.win_probability
    FROM pipeline AS p,
         jsonb_to_recordset($2::jsonb->'stages')
             AS s (id uuid, name text, stage_order int, color text, stage_type text,
                   win_probability int)
    RETURNING 1
), templates AS (
    INSERT INTO message_templates (organization_id, id, name, category, channel, content,
                                   variables, wa_template_name, wa_category, components,
                                   wa_status)
    SELECT $1, t.id, t.name, t.category, t.channel, t.content, t.variables,
           t.wa_template_name, t.wa_category, t.components, t.wa_status
    FROM jsonb_to_recordset($2::jsonb->'templates')
             AS t (id uuid, name text, category text, channel text, content text,
                   variables jsonb, wa_template_name text, wa_category text,
                   components jsonb, wa_status text)
    ON CONFLICT DO NOTHING
    RETURNING 1
), voip AS (
    INSERT INTO voip_configs (organization_id, id, provider, cost_per_minute, currency,
                              is_active, setup_completed)
    SELECT $1, v.id, v.provider, v.cost::numeric, v.currency, false, false
    FROM jsonb_to_recordset($2::jsonb->'voip') AS v (id uuid, provider text, cost text,
                                                    currency text)
    ON CONFLICT DO NOTHING
    RETURNING 1
), scoring AS (
    INSERT INTO lead_scoring_models (organization_id, id, model_name, model_version,
                                     model_config, training_data_count, accuracy_score,
                                     is_active)
    SELECT $1, m.id, m.model_name, m.model_version, m.model_config, m.training_data_count,
           m.accuracy_score::numeric, true
    FROM jsonb_to_record($2::jsonb->'scoring_model')
             AS m (id uuid, model_name text, model_version text, model_config jsonb,
                   training_data_count int, accuracy_score text)
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM pipeline), (SELECT count(*) FROM stages),
       (SELECT count(*) FROM templates), (SELECT count(*) FROM voip),
       (SELECT count(*) FROM scoring)";

/// The organization's defaults with their stable ids, as the document
/// [`ORGANIZATION_DEFAULTS`] reads.
pub fn organization_defaults(organization_id: Uuid) -> Result<serde_json::Value, SeedError> {
    let defaults = Defaults::embedded()?;
    let stages: Vec<_> = defaults
        .pipeline
        .stages
        .iter()
        .zip(1..)
        .map(|(s, order): (_, i32)| {
            serde_json::json!({
                "id": stage_id(organization_id, &s.name),
                "name": s.name,
                "stage_order": order,
                "color": s.color,
                "stage_type": s.stage_type,
                "win_probability": s.win_probability,
            })
        })
        .collect();
    let templates: Vec<_> = defaults
        .templates
        .iter()
        .map(|t| {
            serde_json::json!({
                "id": template_id(organization_id, &t.name),
                "name": t.name,
                "category": t.category,
                "channel": t.channel,
                "content": t.content,
                "variables": t.variables,
                "wa_template_name": t.wa_template_name,
                "wa_category": t.wa_category,
                "components": match t.wa_template_name {
                    Some(_) => whatsapp_components(&t.content),
                    None => serde_json::json!([]),
                },
                "wa_status": t.wa_template_name.as_ref().map(|_| "draft"),
            })
        })
        .collect();
    let voip: Vec<_> = defaults
        .voip
        .iter()
        .map(|v| {
            serde_json::json!({
                "id": voip_config_id(organization_id, &v.provider),
                "provider": v.provider,
                "cost": v.cost_per_minute.to_string(),
                "currency": v.currency,
            })
        })
        .collect();
    let model = &defaults.scoring_model;
    Ok(serde_json::json!({
        "pipeline_id": pipeline_id(organization_id),
        "pipeline_name": defaults.pipeline.name,
        "stages": stages,
        "templates": templates,
        "voip": voip,
        "scoring_model": {
            "id": scoring_model_id(organization_id, &model.model_name, &model.model_version),
            "model_name": model.model_name,
            "model_version": model.model_version,
            "model_config": model.model_config,
            "training_data_count": model.training_data_count,
            "accuracy_score": model.accuracy_score.to_string(),
        },
    }))
}

/// Inserts the organization's missing defaults ([`ORGANIZATION_DEFAULTS`]) and counts them
/// into `report`.
async fn insert_defaults(
    tx: &mut PgConnection,
    organization_id: Uuid,
    report: &mut SeedReport,
) -> Result<(), SeedError> {
    let (pipelines, stages, templates, voip, models): (i64, i64, i64, i64, i64) =
        sqlx::query_as(ORGANIZATION_DEFAULTS)
            .bind(organization_id)
            .bind(organization_defaults(organization_id)?)
            .fetch_one(&mut *tx)
            .await
            .map_err(db("seeding the organization's defaults"))?;
    report.pipelines += pipelines.unsigned_abs();
    report.pipeline_stages += stages.unsigned_abs();
    report.message_templates += templates.unsigned_abs();
    report.voip_configs += voip.unsigned_abs();
    report.lead_scoring_models += models.unsigned_abs();
    Ok(())
}
