//! The leads and everything hanging off them: stage history, about ten communications
//! over every channel, notes, tasks, tags, favorites, template usage, notifications, AI
//! conversations, analytics events, calendar events, webhook deliveries and audit entries.

use crmdb_seed::template::render;
use uuid::Uuid;

use super::{brl, local_date_time, money, Gen, OrgRefs, BASE, DAY, HOUR, MINUTE};
use crate::copy::Ts;
use crate::tables::Table;
use crate::words::ascii_fold;

const SOURCES: [&str; 10] = [
    "whatsapp",
    "website",
    "facebook_ads",
    "google_ads",
    "referral",
    "manual",
    "linkedin",
    "import",
    "api",
    "other",
];
const SOURCE_WEIGHTS: [u32; 10] = [25, 20, 12, 12, 10, 8, 5, 4, 2, 2];
/// How leads spread over the five default stages.
const STAGE_WEIGHTS: [u32; 5] = [35, 25, 18, 10, 12];
const CHANNELS: [&str; 5] = ["whatsapp", "email", "phone", "sms", "meeting"];
const CHANNEL_WEIGHTS: [u32; 5] = [45, 20, 15, 8, 12];
const EMAIL_DOMAINS: [&str; 7] = [
    "gmail.com",
    "hotmail.com",
    "outlook.com",
    "yahoo.com.br",
    "uol.com.br",
    "bol.com.br",
    "terra.com.br",
];

/// What the rows hanging off a lead need to know about it.
struct Lead {
    id: Uuid,
    created: i64,
    first: &'static str,
    company: Option<String>,
    value_cents: i64,
    stage: usize,
    status: &'static str,
    assignee: Option<usize>,
    /// The first lead of the organization gets one of every kind of row, so every table
    /// has rows whatever the sizes.
    complete: bool,
}

impl Gen<'_> {
    /// Lead `index` (in creation order) and its rows; returns its source. The creation
    /// time is the next of `times`, so leads come out oldest first; later leads are more
    /// frequent (a growing business): the square root skews the times toward BASE.
    pub(super) fn lead_at(
        &mut self,
        refs: &mut OrgRefs,
        times: &mut super::SortedTimes,
        index: u32,
    ) -> &'static str {
        let start = self.org_created + 7 * DAY;
        let u = times.next(&mut self.rng);
        let created = start + ((BASE - DAY - start) as f64 * u.sqrt()) as i64;
        if index % 20 == 19 {
            self.background_jobs(1);
        }
        let templates = self.templates_for_lead(refs, index);
        self.lead(refs, created, index == 0, &templates)
    }

    /// The templates lead `index` is sent, each at most once: selection sampling spreads
    /// each template's remaining uses over the remaining leads, so the counts decided
    /// up front are met exactly, in O(1) memory. The first lead always gets the first
    /// template.
    fn templates_for_lead(&mut self, refs: &mut OrgRefs, index: u32) -> Vec<(Uuid, usize)> {
        let leads_left = self.shared.leads_per_org - index;
        let mut chosen = Vec::new();
        for t in 0..refs.templates.len() {
            let forced = index == 0 && t == 0;
            let left = refs.unused[t];
            if left > 0 && (forced || rand::Rng::gen_range(&mut self.rng, 0..leads_left) < left) {
                refs.unused[t] -= 1;
                chosen.push(refs.templates[t]);
            }
        }
        chosen
    }

    /// One lead and its rows; returns its source.
    fn lead(
        &mut self,
        refs: &OrgRefs,
        created: i64,
        complete: bool,
        templates: &[(Uuid, usize)],
    ) -> &'static str {
        let org = self.org;
        let id = self.id(created);
        let (first, name) = self.person();
        let last = name.rsplit(' ').next().unwrap_or(first);
        let (_, _, ddd) = self.pick(&self.w.cities);
        let company = self.chance(0.8).then(|| {
            let kind = self.pick(&self.w.business_kinds);
            let distinct = self.pick(&self.w.business_names);
            let suffix = self.pick(&self.w.company_suffixes);
            format!("{kind} {distinct} {suffix}")
        });
        let email = self.chance(0.85).then(|| {
            let local = format!("{}.{}", ascii_fold(first), ascii_fold(last));
            match (&company, self.chance(0.3)) {
                (Some(company), true) => {
                    let words: Vec<String> = company.split(' ').take(3).map(ascii_fold).collect();
                    format!("{local}@{}.com.br", words.join(""))
                }
                _ => {
                    let n = self.below(100);
                    let domain = self.pick(&EMAIL_DOMAINS);
                    format!("{local}{n}@{domain}")
                }
            }
        });
        let phone = self.chance(0.9).then(|| self.mobile(ddd));
        let job_title = self.chance(0.6).then(|| self.pick(&self.w.job_titles));
        let source = SOURCES[self.weighted(&SOURCE_WEIGHTS)];
        let stage = self.weighted(&STAGE_WEIGHTS);
        let last_stage = refs.stages.len() - 1;
        let stage = stage.min(last_stage);
        let status = if stage == last_stage {
            if self.chance(0.65) {
                "won"
            } else {
                "lost"
            }
        } else if self.chance(0.08) {
            "lost"
        } else {
            "open"
        };
        let lost_reason = (status == "lost").then(|| self.pick(&self.w.lost_reasons));
        let score = ((stage as i64) * 20 + 10 + self.between(-15, 16)).clamp(0, 100) as i32;
        let value_cents = {
            let exponent: f64 = 2.7 + 2.5 * rand::Rng::gen::<f64>(&mut self.rng);
            (10f64.powf(exponent) * 100.0).round() as i64
        };
        let assignee = if self.sellers.is_empty() || (!complete && self.chance(0.08)) {
            None
        } else {
            let k = self.below(self.sellers.len());
            Some(self.sellers[k])
        };
        let lead = Lead {
            id,
            created,
            first,
            company: company.clone(),
            value_cents,
            stage,
            status,
            assignee,
            complete,
        };
        // Activity runs from creation for up to four months, never past BASE.
        let horizon = (created + 120 * DAY).min(BASE);
        let stage_changed = self.stage_history(refs, &lead, horizon);
        let last_contact = self.communications(refs, &lead, horizon, templates);
        self.notes(&lead, horizon);
        self.tasks(&lead);
        self.lead_tags(refs, &lead);
        self.favorites(&lead);
        self.ai_conversation(&lead, source);
        self.lead_events(refs, &lead, source, stage_changed);
        let next_follow_up =
            (status == "open" && self.chance(0.7)).then(|| BASE + self.between(HOUR, 14 * DAY));
        let deleted = self.chance(0.01).then(|| self.between(horizon, BASE + 1));
        let updated = stage_changed
            .max(last_contact.unwrap_or(created))
            .max(deleted.unwrap_or(0));
        let mut custom = serde_json::Map::new();
        custom.insert(
            "segmento".into(),
            self.pick(&[
                "Varejo",
                "Serviços",
                "Indústria",
                "Saúde",
                "Educação",
                "Tecnologia",
            ])
            .into(),
        );
        if self.chance(0.5) {
            custom.insert("numero_funcionarios".into(), self.between(1, 500).into());
        }
        if company.is_some() && self.chance(0.4) {
            let digits = self.digits(14);
            let cnpj = format!(
                "{}.{}.{}/{}-{}",
                &digits[0..2],
                &digits[2..5],
                &digits[5..8],
                &digits[8..12],
                &digits[12..14]
            );
            custom.insert("cnpj".into(), cnpj.into());
        }
        if self.chance(0.3) {
            custom.insert("aceita_newsletter".into(), self.chance(0.6).into());
        }
        let custom = serde_json::Value::Object(custom);
        let assigned_user = assignee.map(|m| self.members[m].user_id);
        self.row(
            Table::Leads,
            &[
                &org,
                &id,
                &refs.pipeline,
                &refs.stages[stage],
                &name,
                &email,
                &phone,
                &company,
                &job_title,
                &source,
                &score,
                &money(value_cents),
                &"BRL",
                &status,
                &lost_reason,
                &assigned_user,
                &custom,
                &last_contact.map(Ts),
                &next_follow_up.map(Ts),
                &Ts(stage_changed),
                &deleted.map(Ts),
                &Ts(created),
                &Ts(updated),
            ],
        );
        self.audit(
            assigned_user,
            "lead.created",
            "lead",
            Some(id),
            serde_json::json!({ "source": { "old": null, "new": source } }),
            created,
        );
        if status != "open" {
            self.audit(
                assigned_user,
                "lead.updated",
                "lead",
                Some(id),
                serde_json::json!({ "status": { "old": "open", "new": status } }),
                stage_changed,
            );
        }
        if let Some(m) = assignee {
            self.notification(
                m,
                "lead.assigned",
                format!("Novo lead: {name}"),
                company.clone(),
                serde_json::json!({ "lead_id": id }),
                created + MINUTE,
            );
        }
        source
    }

    /// One history row per stage the lead moved through; returns when it entered its
    /// current stage.
    fn stage_history(&mut self, refs: &OrgRefs, lead: &Lead, horizon: i64) -> i64 {
        let mut at = lead.created;
        let org = self.org;
        let changed_by = lead.assignee.map(|m| self.members[m].user_id);
        for to in 1..=lead.stage {
            at = self
                .between(at + HOUR, at + (horizon - at) / 2 + HOUR)
                .min(horizon);
            let id = self.id(at);
            self.row(
                Table::LeadStageHistory,
                &[
                    &org,
                    &id,
                    &lead.id,
                    &Some(refs.stages[to - 1]),
                    &Some(refs.stages[to]),
                    &changed_by,
                    &Ts(at),
                    &Ts(at),
                ],
            );
        }
        at
    }

    /// About ten messages, calls and meetings; returns the last contact's time.
    /// About ten messages, calls and meetings, among them one outbound message per
    /// template in `templates`; returns the last contact's time.
    fn communications(
        &mut self,
        refs: &OrgRefs,
        lead: &Lead,
        horizon: i64,
        templates: &[(Uuid, usize)],
    ) -> Option<i64> {
        let count = 6 + self.below(9) + templates.len();
        let mut times: Vec<i64> = (0..count)
            .map(|_| {
                Self::working_hours(self.between(lead.created, horizon)).clamp(lead.created, BASE)
            })
            .collect();
        times.sort_unstable();
        let user = lead.assignee.map(|m| self.members[m].user_id);
        let agent_first = self.members[lead.assignee.unwrap_or(0)].first;
        let mut pending = templates.iter().copied();
        let mut templated_left = templates.len();
        for (k, &at) in times.iter().enumerate() {
            // The templated messages take places after the lead's first contact and its
            // first answer, chosen by selection sampling among the places left.
            let templated = k >= 2
                && templated_left > 0
                && rand::Rng::gen_range(&mut self.rng, 0..count - k) < templated_left;
            let template = if templated {
                templated_left -= 1;
                pending.next()
            } else {
                None
            };
            let channel = match template {
                Some((_, t)) => match self.shared.defaults.templates[t].channel.as_str() {
                    "whatsapp" => "whatsapp",
                    "email" => "email",
                    "sms" => "sms",
                    _ => self.pick(&["whatsapp", "email", "sms"]),
                },
                None if lead.complete && k == 1 => "meeting",
                None => CHANNELS[self.weighted(&CHANNEL_WEIGHTS)],
            };
            // Leads reach out first; later, about four in ten contacts are theirs.
            let inbound =
                template.is_none() && channel != "meeting" && (k == 0 || self.chance(0.4));
            let content: Option<String> = match (channel, template) {
                (_, Some((_, t))) => Some(self.render_template(t, lead, agent_first, at)),
                ("whatsapp" | "sms", None) => Some(
                    self.pick(if inbound {
                        &self.w.inbound_messages
                    } else {
                        &self.w.outbound_messages
                    })
                    .to_owned(),
                ),
                ("email", None) => {
                    let subject = self.pick(&self.w.email_subjects);
                    let body = self.pick(if inbound {
                        &self.w.inbound_messages
                    } else {
                        &self.w.outbound_messages
                    });
                    Some(if inbound {
                        format!("Re: {subject}\n\n{body}")
                    } else {
                        format!(
                            "{subject}\n\nOlá, {},\n\n{body}\n\nAtenciosamente,\n{agent_first}\n{}",
                            lead.first, self.org_name
                        )
                    })
                }
                ("phone", None) => Some(self.pick(&self.w.call_summaries).to_owned()),
                _ => Some(format!(
                    "Reunião com {}{}",
                    lead.first,
                    lead.company
                        .as_ref()
                        .map(|c| format!(" ({c})"))
                        .unwrap_or_default()
                )),
            };
            let answered = channel == "phone" && self.chance(0.7);
            let status = if inbound && channel != "phone" {
                "received"
            } else {
                match channel {
                    "whatsapp" => [
                        "read",
                        "read",
                        "read",
                        "delivered",
                        "delivered",
                        "sent",
                        "failed",
                    ][self.below(7)],
                    "email" => {
                        ["delivered", "delivered", "read", "read", "sent", "failed"][self.below(6)]
                    }
                    "sms" => {
                        ["delivered", "delivered", "delivered", "sent", "failed"][self.below(5)]
                    }
                    "phone" if answered => {
                        if inbound {
                            "received"
                        } else {
                            "delivered"
                        }
                    }
                    "phone" => "failed",
                    _ => "sent",
                }
            };
            let seq = self.next_seq();
            let external_id = match channel {
                "whatsapp" => Some(format!("wamid.HBgN{}{seq:06}", self.alnum(24))),
                "email" => Some(format!(
                    "<{}.{seq}@mail.{}.com.br>",
                    self.hex(16),
                    self.slug
                )),
                "sms" => Some(format!("SM{}{seq:06}", self.hex(26))),
                "phone" => Some(format!("CA{}{seq:06}", self.hex(26))),
                _ => None,
            };
            let duration = match channel {
                "phone" if answered => Some(self.between(30, 1800) as i32),
                "phone" => Some(0),
                "meeting" => Some([1800i32, 2700, 3600][self.below(3)]),
                _ => None,
            };
            let recording = (answered && self.chance(0.5)).then(|| {
                format!(
                    "https://api.twilio.com/2010-04-01/Accounts/AC{}/Recordings/RE{}",
                    self.hex(32),
                    self.hex(32)
                )
            });
            let metadata = match channel {
                "whatsapp" => serde_json::json!({ "message_type": "text" }),
                "email" => {
                    serde_json::json!({ "subject": content.as_deref().unwrap_or_default().lines().next() })
                }
                "phone" => serde_json::json!({ "provider": "twilio" }),
                "meeting" => serde_json::json!({ "location": "Google Meet" }),
                _ => serde_json::json!({}),
            };
            let updated = match status {
                "read" | "delivered" => at + self.between(1_000, 2 * HOUR),
                _ => at,
            }
            .min(BASE);
            let id = self.id(at);
            let org = self.org;
            let template_id = template.map(|(id, _)| id);
            self.row(
                Table::Communications,
                &[
                    &org,
                    &id,
                    &lead.id,
                    &user,
                    &channel,
                    &if inbound { "inbound" } else { "outbound" },
                    &content,
                    &status,
                    &external_id,
                    &template_id,
                    &duration,
                    &recording,
                    &metadata,
                    &Ts(at),
                    &Ts(at),
                    &Ts(updated),
                ],
            );
            if let Some((template_id, _)) = template {
                let replied = times.get(k + 1).is_some();
                self.template_usage(template_id, lead, user, at, replied);
            }
            if channel == "meeting" {
                self.calendar_event(refs, lead, at, duration.unwrap_or(1800));
            }
            if inbound && lead.assignee.is_some() && self.chance(0.15) {
                let m = lead.assignee.unwrap_or(0);
                self.notification(
                    m,
                    "message.received",
                    format!("Nova mensagem de {}", lead.first),
                    content.clone(),
                    serde_json::json!({ "lead_id": lead.id, "communication_id": id, "channel": channel }),
                    at,
                );
            }
            if !inbound && self.chance(0.2) {
                self.analytics(
                    "message.sent",
                    serde_json::json!({ "channel": channel, "communication_id": id }),
                    user,
                    Some(lead.id),
                    at,
                );
            }
        }
        times.last().copied()
    }

    fn render_template(&mut self, t: usize, lead: &Lead, agent: &str, at: i64) -> String {
        let meeting = at + self.between(DAY, 5 * DAY);
        let (date, time) = local_date_time(meeting - meeting % (30 * MINUTE));
        let url = format!(
            "https://meet.google.com/{}-{}-{}",
            self.chars(3, b"abcdefghijklmnopqrstuvwxyz"),
            self.chars(4, b"abcdefghijklmnopqrstuvwxyz"),
            self.chars(3, b"abcdefghijklmnopqrstuvwxyz")
        );
        let content = &self.shared.defaults.templates[t].content;
        render(content, |name| {
            Some(match name {
                "lead_name" => lead.first.to_owned(),
                "agent_name" => agent.to_owned(),
                "organization_name" => self.org_name.clone(),
                "company" => lead
                    .company
                    .clone()
                    .unwrap_or_else(|| "sua empresa".to_owned()),
                "value" => brl(lead.value_cents),
                "meeting_date" => date.clone(),
                "meeting_time" => time.clone(),
                "meeting_url" => url.clone(),
                _ => return None,
            })
        })
        .unwrap_or_else(|missing| format!("{content} [{missing}]"))
    }

    fn template_usage(
        &mut self,
        template: Uuid,
        lead: &Lead,
        user: Option<Uuid>,
        at: i64,
        replied: bool,
    ) {
        let org = self.org;
        let (metric, success) = match self.weighted(&[50, 20, 10, 5, 15]) {
            0 => (Some("response_received"), Some(replied)),
            1 => (Some("lead_advanced"), Some(lead.stage > 0)),
            2 => (Some("meeting_booked"), Some(self.chance(0.4))),
            3 => (Some("deal_won"), Some(lead.status == "won")),
            _ => (None, None),
        };
        let id = self.id(at);
        let updated = if metric.is_some() {
            (at + DAY).min(BASE)
        } else {
            at
        };
        self.row(
            Table::TemplateUsageStats,
            &[
                &org,
                &id,
                &template,
                &Some(lead.id),
                &user,
                &Ts(at),
                &metric,
                &success,
                &Ts(at),
                &Ts(updated),
            ],
        );
    }

    fn calendar_event(&mut self, refs: &OrgRefs, lead: &Lead, at: i64, duration_seconds: i32) {
        let member = lead.assignee.unwrap_or(0);
        let Some(integration) = refs.calendars[member].or(if lead.complete {
            refs.calendars[0]
        } else {
            None
        }) else {
            return;
        };
        let org = self.org;
        let starts = at - at % (30 * MINUTE);
        let ends = starts + i64::from(duration_seconds) * 1000;
        let created = (starts - self.between(HOUR, 3 * DAY)).max(lead.created);
        let id = self.id(created);
        let external = self.chars(26, b"abcdefghijklmnopqrstuv0123456789");
        let status = [
            "confirmed",
            "confirmed",
            "confirmed",
            "confirmed",
            "confirmed",
            "confirmed",
            "confirmed",
            "confirmed",
            "tentative",
            "cancelled",
        ][self.below(10)];
        let title = format!(
            "Reunião: {}{}",
            lead.first,
            lead.company
                .as_ref()
                .map(|c| format!(" – {c}"))
                .unwrap_or_default()
        );
        let url = format!(
            "https://meet.google.com/{}-{}-{}",
            self.chars(3, b"abcdefghijklmnopqrstuvwxyz"),
            self.chars(4, b"abcdefghijklmnopqrstuvwxyz"),
            self.chars(3, b"abcdefghijklmnopqrstuvwxyz")
        );
        self.row(
            Table::CalendarEvents,
            &[
                &org,
                &id,
                &integration,
                &Some(lead.id),
                &external,
                &title,
                &Some("Apresentação da proposta e próximos passos."),
                &Some("Google Meet"),
                &Ts(starts),
                &Ts(ends),
                &status,
                &Some(url),
                &Ts(created),
                &Ts(created),
            ],
        );
    }

    fn notes(&mut self, lead: &Lead, horizon: i64) {
        let count = if lead.complete {
            1
        } else {
            [0, 0, 1, 1, 2][self.below(5)]
        };
        let org = self.org;
        for _ in 0..count {
            let at = self.between(lead.created, horizon);
            let author = lead.assignee.map(|m| self.members[m].user_id);
            let body = self.pick(&self.w.notes);
            let pinned = self.chance(0.1);
            let id = self.id(at);
            self.row(
                Table::LeadNotes,
                &[
                    &org,
                    &id,
                    &lead.id,
                    &author,
                    &body,
                    &pinned,
                    &Ts(at),
                    &Ts(at),
                ],
            );
        }
    }

    fn tasks(&mut self, lead: &Lead) {
        let count = if lead.complete {
            1
        } else {
            [0, 1, 1, 2][self.below(4)]
        };
        let org = self.org;
        for _ in 0..count {
            let (kind, title) = self.pick(&self.w.task_titles);
            let created = self.between(lead.created, BASE);
            let due = self.between(created + HOUR, created + 21 * DAY);
            let completed = (due < BASE && self.chance(0.8))
                .then(|| self.between(created, BASE.min(due + DAY)));
            let priority = ["low", "normal", "normal", "normal", "high", "urgent"][self.below(6)];
            let assignee = lead.assignee.map(|m| self.members[m].user_id);
            let description = self.chance(0.3).then(|| format!("Lead: {}", lead.first));
            let id = self.id(created);
            self.row(
                Table::Tasks,
                &[
                    &org,
                    &id,
                    &Some(lead.id),
                    &assignee,
                    &title,
                    &description,
                    &kind,
                    &priority,
                    &Some(Ts(due)),
                    &completed.map(Ts),
                    &Ts(created),
                    &Ts(completed.unwrap_or(created)),
                ],
            );
            if let (Some(m), None) = (lead.assignee, completed) {
                if due < BASE + DAY && self.chance(0.5) {
                    self.notification(
                        m,
                        "task.due",
                        format!("Tarefa vencendo: {title}"),
                        None,
                        serde_json::json!({ "task_id": id, "lead_id": lead.id }),
                        (due - HOUR).min(BASE).max(created),
                    );
                }
            }
        }
    }

    fn lead_tags(&mut self, refs: &OrgRefs, lead: &Lead) {
        let count = if lead.complete {
            1
        } else {
            [0, 0, 1, 1, 2, 3][self.below(6)]
        };
        let first = self.below(refs.tags.len());
        let org = self.org;
        for k in 0..count.min(refs.tags.len()) {
            let tag = refs.tags[(first + k) % refs.tags.len()];
            let at = Ts(self.between(lead.created, lead.created + 7 * DAY).min(BASE));
            self.row(Table::LeadTags, &[&org, &lead.id, &tag, &at]);
        }
    }

    fn favorites(&mut self, lead: &Lead) {
        if !(lead.complete || self.chance(0.05)) {
            return;
        }
        let org = self.org;
        let mut chosen: Vec<usize> = vec![lead.assignee.unwrap_or(0)];
        if self.members.len() > 1 && self.chance(0.3) {
            let other = self.below(self.members.len());
            if !chosen.contains(&other) {
                chosen.push(other);
            }
        }
        for m in chosen {
            let user = self.members[m].user_id;
            let at = Ts(self.between(lead.created, BASE));
            self.row(Table::LeadFavorites, &[&org, &lead.id, &user, &at]);
        }
    }

    fn ai_conversation(&mut self, lead: &Lead, source: &str) {
        let eligible = matches!(source, "whatsapp" | "website");
        if !(lead.complete || (eligible && self.chance(0.35))) {
            return;
        }
        let org = self.org;
        let channel = if source == "website" {
            "web_chat"
        } else {
            "whatsapp"
        };
        let session = format!(
            "{}-{}",
            if channel == "web_chat" { "web" } else { "wa" },
            self.hex(16)
        );
        let mut messages = vec![serde_json::json!({
            "role": "assistant",
            "content": format!("Olá! Sou a assistente virtual da {}. Como posso ajudar?", self.org_name),
        })];
        for turn in 0..1 + self.below(3) {
            let question = self.pick(&self.w.inbound_messages);
            messages.push(serde_json::json!({ "role": "user", "content": question }));
            let answer = if turn == 0 {
                "Claro! Para eu te ajudar melhor, qual o nome da sua empresa e quantos funcionários ela tem?".to_owned()
            } else {
                self.pick(&self.w.outbound_messages).to_owned()
            };
            messages.push(serde_json::json!({ "role": "assistant", "content": answer }));
        }
        let handoff = self.chance(0.3);
        let reason = handoff.then_some("Lead pediu para falar com um vendedor");
        let score = self.between(10, 96) as i32;
        let tokens = self.between(300, 4000) as i32;
        let ended = lead.created + self.between(2 * MINUTE, 40 * MINUTE);
        let id = self.id(lead.created);
        let messages = serde_json::Value::Array(messages);
        self.row(
            Table::AiConversations,
            &[
                &org,
                &id,
                &Some(lead.id),
                &session,
                &channel,
                &messages,
                &Some("gpt-4o-mini"),
                &Some(score),
                &handoff,
                &reason,
                &tokens,
                &Ts(lead.created),
                &Ts(ended.min(BASE)),
            ],
        );
        if lead.complete || self.chance(0.3) {
            let qualified = score >= 60;
            let predicted = (score + self.between(-20, 21) as i32).clamp(0, 100);
            let feedback = format!("0.{:02}", self.between(40, 100));
            let at = (ended + self.between(HOUR, 7 * DAY)).min(BASE);
            let training = self.id(at);
            self.row(
                Table::AiTrainingData,
                &[
                    &org,
                    &training,
                    &"lead_qualification",
                    &serde_json::json!({ "conversation_id": id, "channel": channel, "turns": messages.as_array().map_or(0, Vec::len) }),
                    &serde_json::json!({ "qualified": qualified, "score": score }),
                    &Some(serde_json::json!({ "qualified": predicted >= 60, "score": predicted })),
                    &Some(feedback),
                    &Some(id),
                    &Ts(at),
                    &Ts(at),
                ],
            );
        }
    }

    fn lead_events(&mut self, refs: &OrgRefs, lead: &Lead, source: &str, stage_changed: i64) {
        let user = lead.assignee.map(|m| self.members[m].user_id);
        self.analytics(
            "lead.created",
            serde_json::json!({ "source": source }),
            user,
            Some(lead.id),
            lead.created,
        );
        if lead.stage > 0 {
            self.analytics(
                "lead.stage_changed",
                serde_json::json!({ "to_stage_id": refs.stages[lead.stage] }),
                user,
                Some(lead.id),
                stage_changed,
            );
        }
        if lead.status != "open" {
            let kind = if lead.status == "won" {
                "lead.won"
            } else {
                "lead.lost"
            };
            self.analytics(
                kind,
                serde_json::json!({ "value": money(lead.value_cents) }),
                user,
                Some(lead.id),
                stage_changed,
            );
        }
        for (subscription, events) in refs.webhooks.clone() {
            let event = if lead.status == "won" {
                "lead.won"
            } else if lead.stage > 0 {
                "lead.stage_changed"
            } else {
                "lead.created"
            };
            if events.iter().any(|e| e == event) && (lead.complete || self.chance(0.3)) {
                self.delivery(subscription, event, lead, stage_changed.max(lead.created));
            }
        }
    }

    fn delivery(&mut self, subscription: Uuid, event: &str, lead: &Lead, at: i64) {
        let org = self.org;
        let state = self.weighted(&[85, 8, 2, 5]);
        let (status, attempt, response, error, retry, delivered) = match state {
            0 => (
                "succeeded",
                1,
                Some(200),
                None,
                None,
                Some(at + self.between(100, 3_000)),
            ),
            1 => (
                "failed",
                1 + self.below(3) as i32,
                Some(500),
                Some("HTTP 500 do endpoint"),
                None,
                None,
            ),
            2 => (
                "dead",
                8,
                Some(410),
                Some("HTTP 410: endpoint removido"),
                None,
                None,
            ),
            _ => (
                "pending",
                2,
                Some(503),
                Some("HTTP 503: serviço indisponível"),
                Some(BASE + self.between(MINUTE, HOUR)),
                None,
            ),
        };
        let attempt = if state == 0 { 1 } else { attempt };
        let duration = self.between(40, 2_500) as i32;
        let payload = serde_json::json!({ "event": event, "data": { "lead_id": lead.id, "status": lead.status } });
        let id = self.id(at);
        self.row(
            Table::WebhookDeliveryLogs,
            &[
                &org,
                &id,
                &subscription,
                &event,
                &payload,
                &attempt,
                &status,
                &response,
                &Some(duration),
                &error,
                &retry.map(Ts),
                &delivered.map(|d: i64| Ts(d.min(BASE))),
                &Ts(at),
                &Ts(delivered.unwrap_or(at).min(BASE)),
            ],
        );
    }

    fn analytics(
        &mut self,
        kind: &str,
        data: serde_json::Value,
        user: Option<Uuid>,
        lead: Option<Uuid>,
        at: i64,
    ) {
        let org = self.org;
        let id = self.id(at);
        let session = user.map(|_| format!("s_{}", self.hex(12)));
        self.row(
            Table::AnalyticsEvents,
            &[
                &org,
                &id,
                &kind,
                &data,
                &user,
                &lead,
                &session,
                &Ts(at),
                &Ts(at),
            ],
        );
    }

    /// Sign-ins of the members over the last month.
    pub(super) fn logins(&mut self) {
        for m in 0..self.members.len() {
            let user = self.members[m].user_id;
            for _ in 0..4 + self.below(8) {
                let at = self.between(BASE - 30 * DAY, BASE);
                let agent = self.user_agent();
                self.analytics(
                    "user.login",
                    serde_json::json!({ "user_agent": agent }),
                    Some(user),
                    None,
                    at,
                );
            }
        }
    }

    fn notification(
        &mut self,
        member: usize,
        kind: &str,
        title: String,
        body: Option<String>,
        payload: serde_json::Value,
        at: i64,
    ) {
        let org = self.org;
        let user = self.members[member].user_id;
        let read = self
            .chance(0.75)
            .then(|| self.between(at, (at + 2 * DAY).min(BASE).max(at + 1)));
        let id = self.id(at);
        self.row(
            Table::Notifications,
            &[
                &org,
                &id,
                &user,
                &kind,
                &title,
                &body,
                &payload,
                &read.map(Ts),
                &Ts(at),
                &Ts(read.unwrap_or(at)),
            ],
        );
    }
}
