//! Members and invitations of an organization: invite with a hashed token, accept, change
//! role, remove — never leaving the organization without an active owner.

use crate::sql::{query, query_as, query_scalar, row_struct};
use chrono::{Duration, Utc};
use secrecy::SecretString;
use serde_json::json;
use uuid::Uuid;

use crate::db::{Tenant, TenantTx};
use crate::error::{entity, Error, Result};
use crate::models::{MemberRole, OrganizationInvitation, OrganizationMember, User};
use crate::ops::audit::{self, Entry};
use crate::ops::organizations::own_account;
use crate::sealing;
use crate::validate;

/// An invitation just created: the row, and the token to send to the invitee. The token
/// exists only here — the database keeps its SHA-256.
#[derive(Debug)]
pub struct Invitation {
    pub invitation: OrganizationInvitation,
    pub token: SecretString,
}

/// The members and invitations of one organization.
#[derive(Debug, Clone)]
pub struct Members {
    tenant: Tenant,
}

impl Tenant {
    /// Members and invitations.
    pub fn members(&self) -> Members {
        Members {
            tenant: self.clone(),
        }
    }
}

impl Members {
    /// Every member, oldest first.
    #[tracing::instrument(name = "members.list", skip_all)]
    pub async fn list(&self) -> Result<Vec<OrganizationMember>> {
        let org = self.tenant.organization_id();
        query_as(
            "SELECT * FROM organization_members WHERE organization_id = $1 \
                     ORDER BY joined_at, id",
        )
        .bind(org)
        .fetch_all(&self.tenant)
        .await
    }

    /// The membership of `user_id`.
    #[tracing::instrument(name = "members.get", skip_all, fields(%user_id))]
    pub async fn get(&self, user_id: Uuid) -> Result<OrganizationMember> {
        self.tenant
            .row_by_id(
                "SELECT * FROM organization_members WHERE organization_id = $1 AND user_id = $2",
                user_id,
                entity::MEMBER,
            )
            .await
    }

    /// Makes an existing user a member directly (no invitation), e.g. by an administrator.
    #[tracing::instrument(name = "members.add", skip_all, fields(%user_id))]
    pub async fn add(&self, user_id: Uuid, role: MemberRole) -> Result<OrganizationMember> {
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                let member = insert_member(tx, org, user_id, role, None).await?;
                audit::record(
                    tx,
                    org,
                    Entry::new("member.added", "member", user_id)
                        .with_changes(json!({"role": {"new": role}})),
                );
                Ok(member)
            })
            .await
    }

    /// Invites `email` with `role`, valid for `valid_for`. A pending invitation of the same
    /// e-mail is revoked and replaced, so re-inviting renews the link.
    #[tracing::instrument(
        name = "members.invite",
        skip_all,
        fields(invited_by = invited_by.map(tracing::field::display))
    )]
    pub async fn invite(
        &self,
        email: &str,
        role: MemberRole,
        invited_by: Option<Uuid>,
        valid_for: Duration,
    ) -> Result<Invitation> {
        let email = validate::email("email", email)?;
        if valid_for <= Duration::zero() {
            return Err(Error::invalid("valid_for", "must be positive"));
        }
        let org = self.tenant.organization_id();
        let token = sealing::random_secret("inv_");
        let token_hash = crmdb_secrets::hash_token(&token);
        let invitation = self
            .tenant
            .write(async |tx| {
                query(
                    "UPDATE organization_invitations SET revoked_at = now() \
                     WHERE organization_id = $1 AND email = $2 \
                       AND accepted_at IS NULL AND revoked_at IS NULL",
                )
                .bind(org)
                .bind(&email)
                .execute(&mut **tx)
                .await?;
                let invitation: OrganizationInvitation = query_as(
                    "INSERT INTO organization_invitations \
                         (organization_id, email, role, token_hash, invited_by, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6)) \
                     RETURNING organization_id, id, email, role, invited_by, expires_at, \
                               accepted_at, revoked_at, created_at, updated_at",
                )
                .bind(org)
                .bind(&email)
                .bind(role)
                .bind(&token_hash)
                .bind(invited_by)
                .bind(valid_for.num_milliseconds() as f64 / 1000.0)
                .fetch_one(&mut **tx)
                .await
                .map_err(|e| {
                    e.missing_parent(
                        "fk_organization_invitations_organization_members",
                        entity::MEMBER,
                    )
                })?;
                audit::record(
                    tx,
                    org,
                    Entry::new("invitation.created", "invitation", invitation.id)
                        .with_changes(json!({"email": {"new": email}, "role": {"new": role}})),
                );
                Ok(invitation)
            })
            .await?;
        Ok(Invitation { invitation, token })
    }

    /// The invitations not yet accepted or revoked, newest first.
    #[tracing::instrument(name = "members.pending_invitations", skip_all)]
    pub async fn pending_invitations(&self) -> Result<Vec<OrganizationInvitation>> {
        let org = self.tenant.organization_id();
        query_as(
            "SELECT organization_id, id, email, role, invited_by, expires_at, \
                            accepted_at, revoked_at, created_at, updated_at \
                     FROM organization_invitations \
                     WHERE organization_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL \
                     ORDER BY created_at DESC, id",
        )
        .bind(org)
        .fetch_all(&self.tenant)
        .await
    }

    /// Revokes a pending invitation.
    #[tracing::instrument(name = "members.revoke_invitation", skip_all, fields(%id))]
    pub async fn revoke_invitation(&self, id: Uuid) -> Result<OrganizationInvitation> {
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                let invitation = query_as(
                    "UPDATE organization_invitations SET revoked_at = now() \
                     WHERE organization_id = $1 AND id = $2 \
                       AND accepted_at IS NULL AND revoked_at IS NULL \
                     RETURNING organization_id, id, email, role, invited_by, expires_at, \
                               accepted_at, revoked_at, created_at, updated_at",
                )
                .bind(org)
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(Error::not_found(entity::INVITATION))?;
                audit::record(tx, org, Entry::new("invitation.revoked", "invitation", id));
                Ok(invitation)
            })
            .await
    }

    /// Accepts the invitation whose token is `token` for the signed-in user `user_id`,
    /// whose e-mail must be the invited one. Makes the user a member with the invited role.
    #[tracing::instrument(name = "members.accept", skip_all, fields(%user_id))]
    pub async fn accept(&self, token: &SecretString, user_id: Uuid) -> Result<OrganizationMember> {
        let org = self.tenant.organization_id();
        let token_hash = crmdb_secrets::hash_token(token);
        row_struct! {
            /// The pending invitation a token names, as `invitation_by_token` returns it.
            struct Pending {
                id: Uuid,
                email: String,
                role: MemberRole,
                invited_by: Option<Uuid>,
                expires_at: chrono::DateTime<Utc>,
            }
        }
        // The accepting user is not a member yet: only as the acting user is their
        // account visible.
        self.tenant
            .acting_as(user_id)
            .write(async |tx| {
                // The token hash is compared inside the database, never read back.
                let invitation: Pending = query_as("SELECT * FROM invitation_by_token($1)")
                    .bind(&token_hash)
                    .fetch_optional(&mut **tx)
                    .await?
                    .ok_or(Error::not_found(entity::INVITATION))?;
                if invitation.expires_at <= Utc::now() {
                    return Err(Error::forbidden("the invitation has expired"));
                }
                let user: User = own_account(tx, user_id).await?;
                if user.email != invitation.email {
                    return Err(Error::forbidden(
                        "the invitation was sent to another e-mail address",
                    ));
                }
                let member =
                    insert_member(tx, org, user_id, invitation.role, invitation.invited_by).await?;
                query(
                    "UPDATE organization_invitations SET accepted_at = now() \
                     WHERE organization_id = $1 AND id = $2",
                )
                .bind(org)
                .bind(invitation.id)
                .execute(&mut **tx)
                .await?;
                audit::record(
                    tx,
                    org,
                    Entry::new("member.joined", "member", user_id).with_changes(
                        json!({"role": {"new": invitation.role}, "invitation_id": invitation.id}),
                    ),
                );
                Ok(member)
            })
            .await
    }

    /// Changes the role of `user_id`. The last active owner cannot be demoted.
    #[tracing::instrument(name = "members.change_role", skip_all, fields(%user_id))]
    pub async fn change_role(&self, user_id: Uuid, role: MemberRole) -> Result<OrganizationMember> {
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                if role != MemberRole::Owner {
                    guard_last_owner(tx, org, user_id, "the last owner cannot be demoted").await?;
                }
                row_struct! {
                    /// The role the member had before the change.
                    struct Before {
                        role_before: MemberRole,
                    }
                }
                // The row joined in FROM is read as it was before the UPDATE, which gives
                // the old role for the audit entry in the same round trip.
                let fetched = tx
                    .run(
                        query(
                            "UPDATE organization_members AS m SET role = $3 \
                             FROM (SELECT role FROM organization_members \
                                   WHERE organization_id = $1 AND user_id = $2 FOR UPDATE) AS b \
                             WHERE m.organization_id = $1 AND m.user_id = $2 \
                             RETURNING m.*, b.role AS role_before",
                        )
                        .bind(org)
                        .bind(user_id)
                        .bind(role)
                        .into_statement(),
                    )
                    .await?;
                let (Some(member), Some(before)) = (
                    fetched.decode::<OrganizationMember>()?.pop(),
                    fetched.decode::<Before>()?.pop(),
                ) else {
                    return Err(Error::not_found(entity::MEMBER));
                };
                if before.role_before != role {
                    audit::record(
                        tx,
                        org,
                        Entry::new("member.role_changed", "member", user_id).with_changes(
                            json!({"role": {"old": before.role_before, "new": role}}),
                        ),
                    );
                }
                Ok(member)
            })
            .await
    }

    /// Removes `user_id` from the organization. The last active owner cannot be removed.
    #[tracing::instrument(name = "members.remove", skip_all, fields(%user_id))]
    pub async fn remove(&self, user_id: Uuid) -> Result<()> {
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                guard_last_owner(tx, org, user_id, "the last owner cannot be removed").await?;
                let removed = query(
                    "DELETE FROM organization_members WHERE organization_id = $1 AND user_id = $2",
                )
                .bind(org)
                .bind(user_id)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                if removed == 0 {
                    return Err(Error::not_found(entity::MEMBER));
                }
                audit::record(tx, org, Entry::new("member.removed", "member", user_id));
                Ok(())
            })
            .await
    }
}

async fn insert_member(
    tx: &mut TenantTx,
    org: Uuid,
    user_id: Uuid,
    role: MemberRole,
    invited_by: Option<Uuid>,
) -> Result<OrganizationMember> {
    query_as(
        "INSERT INTO organization_members (organization_id, user_id, role, invited_by) \
         VALUES ($1, $2, $3, $4) RETURNING *",
    )
    .bind(org)
    .bind(user_id)
    .bind(role)
    .bind(invited_by)
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| {
        e.missing_parent("fk_organization_members_users", entity::USER)
            .missing_parent(
                "fk_organization_members_organization_members",
                entity::MEMBER,
            )
    })
}

/// Fails with `why` when `user_id` is the only active owner. The owners' rows are locked
/// first, so two owners demoting each other at the same time cannot both succeed.
async fn guard_last_owner(
    tx: &mut TenantTx,
    org: Uuid,
    user_id: Uuid,
    why: &'static str,
) -> Result<()> {
    let owners: Vec<Uuid> = query_scalar(
        "SELECT user_id FROM organization_members \
         WHERE organization_id = $1 AND role = 'owner' AND status = 'active' \
         ORDER BY user_id FOR UPDATE",
    )
    .bind(org)
    .fetch_all(&mut **tx)
    .await?;
    if owners == [user_id] {
        return Err(Error::forbidden(why));
    }
    Ok(())
}
