//! Users and their membership: the owner, admins, managers, agents and viewers, their
//! second factor, sessions and e-mailed tokens, and the organization's invitations.

use uuid::Uuid;

use super::{Gen, Member, BASE, DAY, HOUR, MINUTE};
use crate::copy::{Bytea, TextArray, Ts};
use crate::tables::Table;
use crate::words::ascii_fold;

impl Gen<'_> {
    pub(super) fn people(&mut self) {
        let count = 3 + (self.shared.leads_per_org as usize / 100).min(20) + self.below(4);
        let mut locals: Vec<String> = Vec::with_capacity(count);
        for i in 0..count {
            let role = match i {
                0 => "owner",
                1 => "admin",
                2 => "manager",
                _ if i + 1 == count && count > 5 => "viewer",
                _ => "agent",
            };
            let joined = if i == 0 {
                self.org_created
            } else {
                self.between(self.org_created + HOUR, self.org_created + 120 * DAY)
            };
            let (first, full_name) = self.person();
            let mut local = ascii_fold(first)
                + "."
                + &ascii_fold(full_name.rsplit(' ').next().unwrap_or(first));
            if locals.contains(&local) {
                local = format!("{local}{i}");
            }
            locals.push(local.clone());
            let email = format!("{local}@{}.com.br", self.slug);
            let user_id = self.id(joined - 5 * MINUTE);
            self.members.push(Member {
                user_id,
                first,
                full_name,
                email,
                role,
                joined,
            });
        }
        let suspended = (count > 4 && self.chance(0.3)).then(|| count - 2);
        for i in 0..self.members.len() {
            self.user(i);
            self.membership(i, suspended == Some(i));
            if suspended != Some(i) && matches!(self.members[i].role, "owner" | "manager" | "agent")
            {
                self.sellers.push(i);
            }
        }
        self.invitations();
    }

    fn user(&mut self, i: usize) {
        let (user_id, joined, email, full_name) = {
            let m = &self.members[i];
            (m.user_id, m.joined, m.email.clone(), m.full_name.clone())
        };
        let created = joined - 5 * MINUTE;
        let verified = created + self.between(MINUTE, 2 * HOUR);
        let last_login = self.between(BASE - 7 * DAY, BASE);
        let phone = self.chance(0.8).then(|| self.mobile(self.city.2));
        let password_hash = self.shared.password_hash.clone();
        self.row(
            Table::Users,
            &[
                &user_id,
                &email,
                &password_hash,
                &full_name,
                &phone,
                &"pt-BR",
                &true,
                &Ts(verified),
                &Ts(last_login),
                &Ts(created),
                &Ts(last_login),
            ],
        );
        self.auth_tokens(user_id, created, verified);
        self.sessions(user_id, joined);
        let privileged = matches!(self.members[i].role, "owner" | "admin");
        if i == 0 || self.chance(if privileged { 0.6 } else { 0.15 }) {
            self.two_factor(user_id, verified);
        }
    }

    fn membership(&mut self, i: usize, suspended: bool) {
        let (user_id, role, joined) = {
            let m = &self.members[i];
            (m.user_id, m.role, m.joined)
        };
        let invited_by = (i > 0).then_some(self.members[0].user_id);
        let id = self.id(joined);
        let updated = if suspended {
            self.between(joined + DAY, BASE)
        } else {
            joined
        };
        let org = self.org;
        self.row(
            Table::OrganizationMembers,
            &[
                &org,
                &id,
                &user_id,
                &role,
                &if suspended { "suspended" } else { "active" },
                &invited_by,
                &Ts(joined),
                &Ts(joined),
                &Ts(updated),
            ],
        );
        self.audit(
            (i > 0).then_some(self.members[0].user_id),
            "member.joined",
            "organization_member",
            Some(id),
            serde_json::json!({ "role": { "old": null, "new": role } }),
            joined,
        );
    }

    fn two_factor(&mut self, user_id: Uuid, since: i64) {
        // TOTP secrets are base32; user_two_factor is global, so the binding's
        // organization is the nil UUID.
        let secret = self.chars(32, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
        let sealed = self.seal(Uuid::nil(), "user_two_factor", "secret_ciphertext", secret);
        let created = self.between(since, BASE - DAY);
        let enabled = created + self.between(MINUTE, 10 * MINUTE);
        let last_used = self.between(enabled, BASE);
        let id = self.id(created);
        let backup = self.shared.backup_code_hashes.clone();
        self.row(
            Table::UserTwoFactor,
            &[
                &id,
                &user_id,
                &Bytea(&sealed.ciphertext),
                &sealed.key_id,
                &TextArray(&backup),
                &Ts(enabled),
                &Ts(last_used),
                &Ts(created),
                &Ts(last_used),
            ],
        );
    }

    fn sessions(&mut self, user_id: Uuid, joined: i64) {
        for _ in 0..1 + self.below(3) {
            let created = self.between(joined.max(BASE - 60 * DAY), BASE - HOUR);
            let expires = created + 30 * DAY;
            let last_seen = self.between(created, expires.min(BASE));
            let revoked = self.chance(0.15).then(|| self.between(last_seen, BASE));
            let (id, hash, ip, agent) = (
                self.id(created),
                self.token_hash(),
                self.ip(),
                self.user_agent(),
            );
            self.row(
                Table::UserSessions,
                &[
                    &id,
                    &user_id,
                    &Bytea(&hash),
                    &ip,
                    &agent,
                    &Ts(expires),
                    &revoked.map(Ts),
                    &Ts(last_seen),
                    &Ts(created),
                    &Ts(revoked.unwrap_or(last_seen)),
                ],
            );
        }
    }

    fn auth_tokens(&mut self, user_id: Uuid, created: i64, verified: i64) {
        let mut tokens = vec![("email_verification", created, Some(verified), DAY)];
        if self.chance(0.2) {
            let at = self.between(created + DAY, BASE - HOUR);
            let used = self
                .chance(0.7)
                .then(|| at + self.between(MINUTE, 30 * MINUTE));
            tokens.push(("password_reset", at, used, HOUR));
        }
        if self.chance(0.1) {
            let at = self.between(created + DAY, BASE - HOUR);
            tokens.push(("magic_link", at, Some(at + 2 * MINUTE), 15 * MINUTE));
        }
        for (purpose, at, used, lifetime) in tokens {
            let (id, hash) = (self.id(at), self.token_hash());
            self.row(
                Table::AuthTokens,
                &[
                    &id,
                    &user_id,
                    &purpose,
                    &Bytea(&hash),
                    &Ts(at + lifetime),
                    &used.map(Ts),
                    &Ts(at),
                    &Ts(used.unwrap_or(at)),
                ],
            );
        }
    }

    fn invitations(&mut self) {
        let inviter = self.members[0].user_id;
        for i in 0..1 + self.below(3) {
            let (_, full) = self.person();
            let local: Vec<String> = full.split(' ').map(ascii_fold).collect();
            let email = format!("{}.{i}@gmail.com", local.join("."));
            let state = self.weighted(&[50, 35, 15]);
            let created = match state {
                0 => self.between(BASE - 6 * DAY, BASE - HOUR),
                _ => self.between(self.org_created + DAY, BASE - 10 * DAY),
            };
            let expires = created + 7 * DAY;
            let (accepted, revoked) = match state {
                1 => (Some(self.between(created + HOUR, expires)), None),
                2 => (None, Some(self.between(created + HOUR, expires))),
                _ => (None, None),
            };
            let role = self.pick(&["agent", "agent", "manager", "viewer"]);
            let (id, hash, org) = (self.id(created), self.token_hash(), self.org);
            self.row(
                Table::OrganizationInvitations,
                &[
                    &org,
                    &id,
                    &email,
                    &role,
                    &Bytea(&hash),
                    &Some(inviter),
                    &Ts(expires),
                    &accepted.map(Ts),
                    &revoked.map(Ts),
                    &Ts(created),
                    &Ts(accepted.or(revoked).unwrap_or(created)),
                ],
            );
        }
    }

    /// One audit-log entry.
    pub(super) fn audit(
        &mut self,
        actor: Option<Uuid>,
        action: &str,
        entity_type: &str,
        entity_id: Option<Uuid>,
        changes: serde_json::Value,
        at: i64,
    ) {
        let (id, ip, agent, org) = (self.id(at), self.ip(), self.user_agent(), self.org);
        let (ip, agent) = match actor {
            Some(_) => (Some(ip), Some(agent)),
            None => (None, None),
        };
        self.row(
            Table::AuditLogs,
            &[
                &org,
                &id,
                &actor,
                &action,
                &entity_type,
                &entity_id,
                &changes,
                &ip,
                &agent,
                &Ts(at),
            ],
        );
    }
}
