//! The default data of `seeds/*.toml`, embedded into the binary and checked when parsed:
//! the plan catalogue, the default pipeline, the message templates, the VoIP configs and
//! the baseline scoring model.

use std::sync::OnceLock;

use serde::Deserialize;

use crate::template::placeholders;
use crate::SeedError;

const PLANS: (&str, &str) = (
    "seeds/plans.toml",
    include_str!("../../../seeds/plans.toml"),
);
const PIPELINE: (&str, &str) = (
    "seeds/pipeline.toml",
    include_str!("../../../seeds/pipeline.toml"),
);
const TEMPLATES: (&str, &str) = (
    "seeds/message_templates.toml",
    include_str!("../../../seeds/message_templates.toml"),
);
const VOIP: (&str, &str) = (
    "seeds/voip_configs.toml",
    include_str!("../../../seeds/voip_configs.toml"),
);
const SCORING: (&str, &str) = (
    "seeds/scoring_model.toml",
    include_str!("../../../seeds/scoring_model.toml"),
);

/// Every default, parsed and checked.
#[derive(Debug, Clone)]
pub struct Defaults {
    pub plans: Vec<Plan>,
    pub pipeline: Pipeline,
    pub templates: Vec<Template>,
    pub voip: Vec<Voip>,
    pub scoring_model: ScoringModel,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub code: String,
    pub name: String,
    pub price_cents: i64,
    pub currency: String,
    pub billing_interval: String,
    pub limits: serde_json::Map<String, serde_json::Value>,
    pub stripe_price_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    pub name: String,
    #[serde(rename = "stage")]
    pub stages: Vec<Stage>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub name: String,
    pub color: String,
    pub stage_type: String,
    pub win_probability: i32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub name: String,
    pub category: String,
    pub channel: String,
    pub content: String,
    pub variables: Vec<String>,
    pub wa_template_name: Option<String>,
    pub wa_category: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Voip {
    pub provider: String,
    pub cost_per_minute: f64,
    pub currency: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringModel {
    pub model_name: String,
    pub model_version: String,
    pub accuracy_score: f64,
    pub training_data_count: i32,
    pub model_config: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlansFile {
    plan: Vec<Plan>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplatesFile {
    template: Vec<Template>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VoipFile {
    voip: Vec<Voip>,
}

impl Defaults {
    /// The embedded defaults, parsed once per process.
    pub fn embedded() -> Result<&'static Defaults, SeedError> {
        static DEFAULTS: OnceLock<Result<Defaults, (&'static str, String)>> = OnceLock::new();
        let parsed = DEFAULTS.get_or_init(|| {
            Defaults::load().map_err(|e| match e {
                SeedError::InvalidData { file, why } => (file, why),
                other => ("seeds/", other.to_string()),
            })
        });
        parsed
            .as_ref()
            .map_err(|(file, why)| SeedError::InvalidData {
                file,
                why: why.clone(),
            })
    }

    /// Parses the embedded data files and checks what the schema cannot express per row
    /// (template variables against placeholders, stage order, distinct names).
    pub fn load() -> Result<Defaults, SeedError> {
        let plans = parse::<PlansFile>(PLANS)?.plan;
        let pipeline = parse::<Pipeline>(PIPELINE)?;
        let templates = parse::<TemplatesFile>(TEMPLATES)?.template;
        let voip = parse::<VoipFile>(VOIP)?.voip;
        let scoring_model = parse::<ScoringModel>(SCORING)?;
        let defaults = Defaults {
            plans,
            pipeline,
            templates,
            voip,
            scoring_model,
        };
        defaults.check()?;
        Ok(defaults)
    }

    fn check(&self) -> Result<(), SeedError> {
        let invalid = |file: &'static str, why: String| SeedError::InvalidData { file, why };
        distinct(PLANS.0, self.plans.iter().map(|p| p.code.as_str()))?;
        distinct(
            PIPELINE.0,
            self.pipeline.stages.iter().map(|s| s.name.as_str()),
        )?;
        distinct(TEMPLATES.0, self.templates.iter().map(|t| t.name.as_str()))?;
        distinct(VOIP.0, self.voip.iter().map(|v| v.provider.as_str()))?;
        if self.pipeline.stages.is_empty() {
            return Err(invalid(PIPELINE.0, "the pipeline has no stage".into()));
        }
        for template in &self.templates {
            let used = placeholders(&template.content);
            if used != template.variables {
                return Err(invalid(
                    TEMPLATES.0,
                    format!(
                        "template {:?} lists variables {:?} but its content uses {:?} \
                         (list them in order of first use)",
                        template.name, template.variables, used
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn parse<T: serde::de::DeserializeOwned>(
    (file, text): (&'static str, &str),
) -> Result<T, SeedError> {
    toml::from_str(text).map_err(|e| SeedError::InvalidData {
        file,
        why: e.to_string(),
    })
}

fn distinct<'a>(file: &'static str, names: impl Iterator<Item = &'a str>) -> Result<(), SeedError> {
    let mut seen = std::collections::BTreeSet::new();
    for name in names {
        if !seen.insert(name) {
            return Err(SeedError::InvalidData {
                file,
                why: format!("{name:?} appears twice"),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_files_are_valid_and_complete() {
        let defaults = Defaults::load().unwrap();
        let stages: Vec<_> = defaults
            .pipeline
            .stages
            .iter()
            .map(|s| (s.name.as_str(), s.color.as_str()))
            .collect();
        assert_eq!(
            stages,
            [
                ("Lead", "#ef4444"),
                ("Contato", "#f97316"),
                ("Proposta", "#eab308"),
                ("Negociação", "#22c55e"),
                ("Fechado", "#6366f1")
            ]
        );
        assert!(defaults.templates.len() >= 8);
        let providers: Vec<_> = defaults.voip.iter().map(|v| v.provider.as_str()).collect();
        assert_eq!(providers, ["twilio", "telnyx"]);
        assert_eq!(defaults.scoring_model.accuracy_score, 0.75);
        assert!(defaults.plans.iter().any(|p| p.code == "free"));
    }
}
