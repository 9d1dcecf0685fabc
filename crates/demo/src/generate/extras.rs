//! The organization-wide rows: its defaults (as `crmdb seed` would insert them, with the
//! demo's timestamps and usage counts), WhatsApp and VoIP setup, tags, custom fields,
//! calendar, marketing and webhook integrations, API keys and background jobs.

use crmdb_seed::defaults::{
    pipeline_id, scoring_model_id, stage_id, template_id, voip_config_id, whatsapp_components,
};
use uuid::Uuid;

use super::{Gen, OrgRefs, BASE, DAY, HOUR, MINUTE};
use crate::copy::{Bytea, TextArray, Ts};
use crate::tables::Table;

impl Gen<'_> {
    /// The defaults and the organization-wide rows the leads refer to.
    pub(super) fn org_defaults(&mut self) -> OrgRefs {
        let defaults = &self.shared.defaults;
        let (org, created) = (self.org, Ts(self.org_created));
        let pipeline = pipeline_id(org);
        let pipeline_name = defaults.pipeline.name.clone();
        self.row(
            Table::Pipelines,
            &[
                &org,
                &pipeline,
                &pipeline_name,
                &true,
                &0i32,
                &created,
                &created,
            ],
        );
        let mut stages = Vec::new();
        for (i, stage) in self.shared.defaults.pipeline.stages.iter().enumerate() {
            let id = stage_id(org, &stage.name);
            stages.push(id);
            self.tables[Table::PipelineStages as usize].row(&[
                &org,
                &id,
                &pipeline,
                &stage.name,
                &(i as i32 + 1),
                &stage.color,
                &stage.stage_type,
                &stage.win_probability,
                &created,
                &created,
            ]);
        }
        let templates = (0..self.shared.defaults.templates.len())
            .map(|i| (template_id(org, &self.shared.defaults.templates[i].name), i))
            .collect::<Vec<_>>();
        self.voip();
        self.scoring_models();
        self.whatsapp();
        let tags = self.tags();
        self.custom_fields();
        let calendars = self.calendar_integrations();
        let webhooks = self.webhook_subscriptions();
        self.api_keys();
        let usage = self.template_usage_counts(templates.len());
        OrgRefs {
            pipeline,
            stages,
            unused: usage.clone(),
            usage,
            templates,
            tags,
            calendars,
            webhooks,
        }
    }

    /// How often the leads use each template: between 3 and 25 uses per 100 leads, and
    /// the first template at least once (the first lead uses it, so that
    /// `template_usage_stats` has rows whatever the size).
    fn template_usage_counts(&mut self, templates: usize) -> Vec<u32> {
        let leads = self.shared.leads_per_org;
        (0..templates)
            .map(|t| {
                let rate: f64 = rand::Rng::gen_range(&mut self.rng, 0.03..0.25);
                let uses = (f64::from(leads) * rate).round() as u32;
                let least = u32::from(t == 0 && leads > 0);
                uses.clamp(least, leads)
            })
            .collect()
    }

    /// The default templates, with the usage counts the leads will reach.
    pub(super) fn templates(&mut self, refs: &OrgRefs) {
        let (org, created) = (self.org, Ts(self.org_created));
        for (&(id, index), &usage) in refs.templates.iter().zip(&refs.usage) {
            let t = &self.shared.defaults.templates[index];
            let variables = serde_json::json!(t.variables);
            let (components, wa_status) = match t.wa_template_name {
                Some(_) => (whatsapp_components(&t.content), Some("approved")),
                None => (serde_json::json!([]), None),
            };
            self.tables[Table::MessageTemplates as usize].row(&[
                &org,
                &id,
                &t.name,
                &t.category,
                &t.channel,
                &t.content,
                &variables,
                &"pt-BR",
                &t.wa_template_name,
                &t.wa_category,
                &"named",
                &components,
                &wa_status,
                &true,
                &(usage as i32),
                &created,
                &created,
            ]);
        }
    }

    fn voip(&mut self) {
        let org = self.org;
        for (i, voip) in self.shared.defaults.voip.clone().iter().enumerate() {
            let id = voip_config_id(org, &voip.provider);
            let created = self.org_created;
            // The first provider is set up in the demo; the others await setup, as seeded.
            let (phone, sealed, updated) = if i == 0 {
                let phone = self.landline(self.city.2);
                let credentials = serde_json::json!({
                    "account_sid": format!("AC{}", self.hex(32)),
                    "auth_token": self.hex(32),
                })
                .to_string();
                let sealed = self.seal(org, "voip_configs", "credentials_ciphertext", credentials);
                (
                    Some(phone),
                    Some(sealed),
                    self.between(created + HOUR, created + 30 * DAY),
                )
            } else {
                (None, None, created)
            };
            let ready = sealed.is_some();
            self.row(
                Table::VoipConfigs,
                &[
                    &org,
                    &id,
                    &voip.provider,
                    &phone,
                    &sealed.as_ref().map(|s| Bytea(&s.ciphertext)),
                    &sealed.as_ref().map(|s| s.key_id.clone()),
                    &voip.cost_per_minute.to_string(),
                    &voip.currency,
                    &ready,
                    &ready,
                    &Ts(created),
                    &Ts(updated),
                ],
            );
        }
    }

    fn scoring_models(&mut self) {
        let org = self.org;
        let model = self.shared.defaults.scoring_model.clone();
        let created = Ts(self.org_created);
        let config = serde_json::Value::Object(model.model_config.clone());
        let id = scoring_model_id(org, &model.model_name, &model.model_version);
        self.row(
            Table::LeadScoringModels,
            &[
                &org,
                &id,
                &model.model_name,
                &model.model_version,
                &config,
                &model.training_data_count,
                &model.accuracy_score.to_string(),
                &true,
                &None::<Ts>,
                &created,
                &created,
            ],
        );
        // A trained candidate that was evaluated and not activated.
        let trained = self.between(BASE - 60 * DAY, BASE - DAY);
        let candidate = self.id(trained);
        let accuracy = format!("0.{:04}", self.between(6800, 7400));
        let config = serde_json::json!({
            "kind": "gradient_boosting",
            "trees": 200,
            "max_depth": 4,
            "features": ["source", "lead_score", "messages_inbound", "days_in_stage"],
        });
        let count = self.between(500, 5000) as i32;
        self.row(
            Table::LeadScoringModels,
            &[
                &org,
                &candidate,
                &"gradient_boosting",
                &"2025.12",
                &config,
                &count,
                &accuracy,
                &false,
                &Some(Ts(trained)),
                &Ts(trained),
                &Ts(trained),
            ],
        );
    }

    fn whatsapp(&mut self) {
        let org = self.org;
        let created = self.org_created + self.between(HOUR, 7 * DAY);
        let id = self.id(created);
        let phone = self.mobile(self.city.2);
        let phone_number_id = self.digits(15);
        let business_account_id = self.digits(15);
        let verify = self.token_hash();
        let credentials =
            serde_json::json!({ "access_token": format!("EAAG{}", self.alnum(180)) }).to_string();
        let sealed = self.seal(
            org,
            "whatsapp_configs",
            "credentials_ciphertext",
            credentials,
        );
        let synced = self.between(BASE - HOUR, BASE);
        self.row(
            Table::WhatsappConfigs,
            &[
                &org,
                &id,
                &"business_api",
                &phone,
                &phone_number_id,
                &business_account_id,
                &Bytea(&verify),
                &Bytea(&sealed.ciphertext),
                &sealed.key_id,
                &true,
                &true,
                &Ts(synced),
                &Ts(created),
                &Ts(synced),
            ],
        );
        self.row(
            Table::ProviderRoutes,
            &[
                &"whatsapp",
                &phone_number_id,
                &org,
                &Some(id),
                &Ts(created),
                &Ts(created),
            ],
        );
    }

    fn tags(&mut self) -> Vec<Uuid> {
        let org = self.org;
        let all = self.w.tags.clone();
        let count = (6 + self.below(all.len() - 5)).min(all.len());
        let first = self.below(all.len());
        (0..count)
            .map(|k| {
                let (name, color) = all[(first + k) % all.len()];
                let created = self.between(self.org_created, self.org_created + 60 * DAY);
                let id = self.id(created);
                self.row(
                    Table::Tags,
                    &[&org, &id, &name, &color, &Ts(created), &Ts(created)],
                );
                id
            })
            .collect()
    }

    fn custom_fields(&mut self) {
        let org = self.org;
        let fields: [(&str, &str, &str, serde_json::Value, bool); 6] = [
            (
                "segmento",
                "Segmento",
                "select",
                serde_json::json!([
                    "Varejo",
                    "Serviços",
                    "Indústria",
                    "Saúde",
                    "Educação",
                    "Tecnologia"
                ]),
                true,
            ),
            (
                "numero_funcionarios",
                "Número de funcionários",
                "number",
                serde_json::json!([]),
                false,
            ),
            ("cnpj", "CNPJ", "text", serde_json::json!([]), false),
            (
                "data_renovacao",
                "Data de renovação do contrato atual",
                "date",
                serde_json::json!([]),
                false,
            ),
            (
                "aceita_newsletter",
                "Aceita receber novidades",
                "boolean",
                serde_json::json!([]),
                false,
            ),
            (
                "interesses",
                "Interesses",
                "multiselect",
                serde_json::json!([
                    "Plano mensal",
                    "Plano anual",
                    "Integração WhatsApp",
                    "Treinamento",
                    "Suporte premium"
                ]),
                false,
            ),
        ];
        let created = self.org_created + self.between(HOUR, 3 * DAY);
        for (position, (key, label, kind, options, required)) in fields.into_iter().enumerate() {
            let id = self.id(created);
            self.row(
                Table::CustomFieldDefinitions,
                &[
                    &org,
                    &id,
                    &"lead",
                    &key,
                    &label,
                    &kind,
                    &options,
                    &required,
                    &(position as i32),
                    &Ts(created),
                    &Ts(created),
                ],
            );
        }
    }

    fn calendar_integrations(&mut self) -> Vec<Option<Uuid>> {
        let org = self.org;
        let mut calendars = vec![None; self.members.len()];
        for (i, slot) in calendars.iter_mut().enumerate() {
            if i > 0 && !self.chance(0.6) {
                continue;
            }
            let (user_id, email, joined) = {
                let m = &self.members[i];
                (m.user_id, m.email.clone(), m.joined)
            };
            let google = self.chance(0.7);
            let created = self.between(joined, joined + 14 * DAY);
            let id = self.id(created);
            let (access, refresh) = (
                format!("ya29.{}", self.alnum(120)),
                format!("1//{}", self.alnum(100)),
            );
            let access = self.seal(
                org,
                "calendar_integrations",
                "access_token_ciphertext",
                access,
            );
            let refresh = self.seal(
                org,
                "calendar_integrations",
                "refresh_token_ciphertext",
                refresh,
            );
            let status = [
                "active",
                "active",
                "active",
                "active",
                "active",
                "active",
                "active",
                "active",
                "failed_insufficient_permissions",
                "failed_unknown",
            ][self.below(10)];
            let active = status == "active";
            let synced = if active {
                self.between(BASE - 30 * MINUTE, BASE)
            } else {
                self.between(created, BASE - DAY)
            };
            let calendar_id = if google {
                email
            } else {
                format!("AAMkAG{}", self.alnum(40))
            };
            let cursor = self.alnum(28);
            self.row(
                Table::CalendarIntegrations,
                &[
                    &org,
                    &id,
                    &user_id,
                    &if google { "google" } else { "microsoft" },
                    &Bytea(&access.ciphertext),
                    &Bytea(&refresh.ciphertext),
                    &Some(access.key_id.clone()),
                    &Ts(synced + HOUR),
                    &calendar_id,
                    &cursor,
                    &status,
                    &active,
                    &Ts(synced),
                    &Ts(created),
                    &Ts(synced),
                ],
            );
            *slot = Some(id);
        }
        calendars
    }

    fn webhook_subscriptions(&mut self) -> Vec<(Uuid, Vec<String>)> {
        let org = self.org;
        let mut subscriptions = Vec::new();
        for k in 0..1 + self.below(2) {
            let created = self.between(self.org_created + DAY, self.org_created + 90 * DAY);
            let id = self.id(created);
            let (url, description, events) = if k == 0 {
                (
                    format!(
                        "https://hooks.zapier.com/hooks/catch/{}/{}/",
                        self.digits(8),
                        self.alnum(7).to_lowercase()
                    ),
                    "Zapier: planilha de leads",
                    vec!["lead.created".to_owned(), "lead.stage_changed".to_owned()],
                )
            } else {
                (
                    format!("https://erp.{}.com.br/webhooks/crm", self.slug),
                    "ERP: pedidos fechados",
                    vec!["lead.won".to_owned(), "lead.lost".to_owned()],
                )
            };
            let secret = format!("whsec_{}", self.alnum(32));
            let secret = self.seal(org, "webhook_subscriptions", "secret_ciphertext", secret);
            let failures = if self.chance(0.8) {
                0
            } else {
                self.between(1, 5) as i32
            };
            let ping = self.between(BASE - DAY, BASE);
            self.row(
                Table::WebhookSubscriptions,
                &[
                    &org,
                    &id,
                    &url,
                    &description,
                    &Bytea(&secret.ciphertext),
                    &secret.key_id,
                    &TextArray(&events),
                    &true,
                    &failures,
                    &Ts(ping),
                    &Ts(created),
                    &Ts(ping),
                ],
            );
            subscriptions.push((id, events));
        }
        subscriptions
    }

    fn api_keys(&mut self) {
        let org = self.org;
        let services = [
            ("openai", "Produção", "sk-proj-"),
            ("google_maps", "Geocodificação de endereços", "AIza"),
            ("sendgrid", "E-mails transacionais", "SG."),
        ];
        for (service, name, prefix) in services.into_iter().take(1 + self.below(3)) {
            let key = format!("{prefix}{}", self.alnum(48));
            let hint = key[key.len() - 4..].to_owned();
            let sealed = self.seal(org, "api_keys", "key_ciphertext", key);
            let created = self.between(self.org_created + DAY, BASE - 30 * DAY);
            let id = self.id(created);
            let used = self.between(BASE - 2 * DAY, BASE);
            let expires = self
                .chance(0.3)
                .then(|| BASE + self.between(30 * DAY, 365 * DAY));
            self.row(
                Table::ApiKeys,
                &[
                    &org,
                    &id,
                    &service,
                    &name,
                    &Bytea(&sealed.ciphertext),
                    &sealed.key_id,
                    &hint,
                    &true,
                    &expires.map(Ts),
                    &Ts(used),
                    &Ts(created),
                    &Ts(used),
                ],
            );
        }
    }

    /// Lead-ad accounts, with the number of leads each brought in.
    pub(super) fn marketing_integrations(&mut self, imported: [u32; 3]) {
        let org = self.org;
        let platforms = ["facebook", "google", "linkedin"];
        for (k, platform) in platforms.into_iter().enumerate() {
            if k > 0 && imported[k] == 0 && !self.chance(0.3) {
                continue;
            }
            let account = match platform {
                "facebook" => format!("act_{}", self.digits(15)),
                "google" => format!("{}-{}-{}", self.digits(3), self.digits(3), self.digits(4)),
                _ => format!("urn:li:sponsoredAccount:{}", self.digits(9)),
            };
            let created = self.between(self.org_created + DAY, self.org_created + 30 * DAY);
            let id = self.id(created);
            let (access, refresh) = (self.alnum(160), self.alnum(120));
            let access = self.seal(
                org,
                "marketing_integrations",
                "access_token_ciphertext",
                access,
            );
            let refresh = self.seal(
                org,
                "marketing_integrations",
                "refresh_token_ciphertext",
                refresh,
            );
            let expires = BASE + self.between(10 * DAY, 60 * DAY);
            let imported_at = self.between(BASE - 6 * HOUR, BASE);
            self.row(
                Table::MarketingIntegrations,
                &[
                    &org,
                    &id,
                    &platform,
                    &account,
                    &Bytea(&access.ciphertext),
                    &Bytea(&refresh.ciphertext),
                    &Some(access.key_id.clone()),
                    &Ts(expires),
                    &true,
                    &Ts(imported_at),
                    &(imported[k] as i32),
                    &Ts(created),
                    &Ts(imported_at),
                ],
            );
            if platform == "facebook" {
                self.row(
                    Table::ProviderRoutes,
                    &[
                        &"facebook",
                        &account,
                        &org,
                        &Some(id),
                        &Ts(created),
                        &Ts(created),
                    ],
                );
            }
        }
    }

    /// The job queue: mostly finished jobs, some queued, running, failed or cancelled.
    pub(super) fn background_jobs(&mut self, count: usize) {
        let org = self.org;
        let kinds = [
            ("mail", "email.send"),
            ("webhooks", "webhook.deliver"),
            ("ai", "lead.score"),
            ("default", "calendar.sync"),
            ("default", "report.daily"),
            ("ai", "conversation.summarize"),
        ];
        for _ in 0..count {
            let (queue, job_type) = self.pick(&kinds);
            let state = self.weighted(&[80, 8, 2, 6, 4]);
            let created = self.between(BASE - 30 * DAY, BASE - MINUTE);
            let id = self.id(created);
            let max_attempts = 5i32;
            let run_at = match state {
                1 => self.between(BASE - 5 * MINUTE, BASE + DAY),
                _ => created + self.between(0, MINUTE),
            };
            let (status, attempts, locked_at, locked_by, error, finished) = match state {
                0 => (
                    "succeeded",
                    1,
                    None,
                    None,
                    None,
                    Some(run_at + self.between(50, 30_000)),
                ),
                1 => ("queued", 0, None, None, None, None),
                2 => (
                    "running",
                    1,
                    Some(Ts(BASE - self.between(1_000, 60_000))),
                    Some(format!(
                        "worker-{}:{}",
                        self.below(4) + 1,
                        self.between(1000, 65000)
                    )),
                    None,
                    None,
                ),
                3 => (
                    "failed",
                    max_attempts,
                    None,
                    None,
                    Some("timeout após 30s aguardando resposta do provedor".to_owned()),
                    Some(run_at + self.between(HOUR, 6 * HOUR)),
                ),
                _ => ("cancelled", 0, None, None, None, Some(run_at)),
            };
            let finished = finished.map(|f: i64| f.min(BASE));
            let payload = serde_json::json!({ "organization_id": org, "requested_by": "system" });
            let priority = [0i32, 100, 100, 100, 500][self.below(5)];
            self.row(
                Table::BackgroundJobs,
                &[
                    &org,
                    &id,
                    &queue,
                    &job_type,
                    &payload,
                    &status,
                    &priority,
                    &attempts,
                    &max_attempts,
                    &Ts(run_at),
                    &locked_at,
                    &locked_by,
                    &error,
                    &finished.map(Ts),
                    &Ts(created),
                    &Ts(finished.unwrap_or(created)),
                ],
            );
        }
    }
}
