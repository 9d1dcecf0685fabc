//! Identity and tenancy: organizations, users, memberships, invitations, credentials and the audit log.

use crate::sql::row_struct;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value as JsonValue;
use std::net::IpAddr;
use uuid::Uuid;

closed_set! {
    /// `organization_members.role`.
    MemberRole {
        Owner = "owner",
        Admin = "admin",
        Manager = "manager",
        Agent = "agent",
        Viewer = "viewer",
    }
}

closed_set! {
    /// `organization_members.status`.
    MemberStatus {
        Active = "active",
        Suspended = "suspended",
    }
}

closed_set! {
    /// `auth_tokens.purpose`.
    AuthTokenPurpose {
        PasswordReset = "password_reset",
        EmailVerification = "email_verification",
        MagicLink = "magic_link",
    }
}

row_struct! {
    /// A row of `organizations`: the tenant root: every tenant table references it with ON DELETE
    /// CASCADE, so deleting an organization offboards it completely.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct Organization {
        pub id: Uuid,
        pub name: String,
        /// URL/subdomain identifier, lower-case [a-z0-9-], unique across the platform.
        pub slug: String,
        pub locale: String,
        pub timezone: String,
        /// ISO 4217 code; default currency of leads and templates of the organization.
        pub currency: String,
        pub settings: JsonValue,
        /// Soft delete (grace period before the hard DELETE that cascades to all tenant rows).
        pub deleted_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `users`: a person who can sign in; belongs to organizations through
    /// organization_members. As the application reads it: without `password_hash`, which no
    /// application role can select (passwords are checked by `login_verify`).
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct User {
        pub id: Uuid,
        /// Lower-case login e-mail, unique across the platform.
        pub email: String,
        pub full_name: String,
        /// E.164 phone number (+5511999999999).
        pub phone: Option<String>,
        pub locale: String,
        pub is_active: bool,
        pub email_verified_at: Option<DateTime<Utc>>,
        pub last_login_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `organization_members`: membership of a user in an organization, with the role that
    /// decides what the user may do there.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct OrganizationMember {
        pub organization_id: Uuid,
        pub id: Uuid,
        pub user_id: Uuid,
        pub role: MemberRole,
        pub status: MemberStatus,
        /// user_id of the member who invited this one (NULL once that member leaves).
        pub invited_by: Option<Uuid>,
        pub joined_at: DateTime<Utc>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `organization_invitations`: pending, accepted or revoked invitations to join an
    /// organization; only the hash of the invitation token is stored. As the application reads
    /// it: without the hash (a token is matched by `invitation_by_token`).
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct OrganizationInvitation {
        pub organization_id: Uuid,
        pub id: Uuid,
        pub email: String,
        pub role: MemberRole,
        /// user_id of the inviting member (NULL once that member leaves).
        pub invited_by: Option<Uuid>,
        pub expires_at: DateTime<Utc>,
        pub accepted_at: Option<DateTime<Utc>>,
        pub revoked_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `user_two_factor`: TOTP second factor of a user (one row per user); the TOTP secret
    /// is AEAD-sealed, backup codes are hashed. As the application reads it: without the secret
    /// and the backup codes (the sealed secret comes from `two_factor_secret()`, for the acting
    /// user only).
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct UserTwoFactor {
        pub id: Uuid,
        pub user_id: Uuid,
        /// Id of the AEAD key that sealed the ciphertext columns of this row (key rotation).
        pub encryption_key_id: String,
        /// NULL while enrolling; set when the first code is verified.
        pub enabled_at: Option<DateTime<Utc>>,
        pub last_used_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `user_sessions`: a signed-in session (device) of a user, identified by the hash of
    /// its refresh token. As the application reads it: without the hash (a session is found by
    /// its token through `session_by_token`).
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct UserSession {
        pub id: Uuid,
        pub user_id: Uuid,
        pub ip: Option<IpAddr>,
        pub user_agent: Option<String>,
        pub expires_at: DateTime<Utc>,
        pub revoked_at: Option<DateTime<Utc>>,
        pub last_seen_at: DateTime<Utc>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `auth_tokens`: single-use e-mailed tokens (password reset, e-mail verification,
    /// magic link); only their hash is stored. As the application reads it: without the hash
    /// (a token is consumed through `consume_auth_token` or `reset_password`).
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct AuthToken {
        pub id: Uuid,
        pub user_id: Uuid,
        pub purpose: AuthTokenPurpose,
        pub expires_at: DateTime<Utc>,
        /// Set when the token is consumed; a used token is never accepted again.
        pub used_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `audit_logs`: append-only record of who did what in an organization: UPDATE is
    /// refused, DELETE only happens when the organization itself is deleted.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct AuditLog {
        pub organization_id: Uuid,
        pub id: Uuid,
        /// User who acted (NULL for the system). Deliberately no foreign key: the log must outlive
        /// users and is never updated (an ON DELETE SET NULL would be an UPDATE).
        pub actor_user_id: Option<Uuid>,
        /// Dotted lower-case verb, e.g. lead.updated, member.role_changed.
        pub action: String,
        pub entity_type: String,
        pub entity_id: Option<Uuid>,
        /// Object of changed fields: {"field": {"old": ..., "new": ...}}.
        pub changes: JsonValue,
        pub ip: Option<IpAddr>,
        pub user_agent: Option<String>,
        pub created_at: DateTime<Utc>,
    }
}
