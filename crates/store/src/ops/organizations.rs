//! Organizations and users, the global side of tenancy: creating an organization with its
//! defaults, reading it, the organizations a user belongs to, and user accounts.

use crmdb_seed::{NewOrganization, SeedError};
use secrecy::SecretString;
use uuid::Uuid;

use crate::db::{Db, Tenant, APP_ROLE};
use crate::error::{entity, Error, Result};
use crate::models::{MemberRole, Organization, User};
use crate::sealing;
use crate::sql::{query, query_as, query_scalar, FromRow};
use crate::validate;

/// An organization the user belongs to, with the user's role there.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Membership {
    pub organization: Organization,
    pub role: MemberRole,
}

impl FromRow for Membership {
    fn from_row(row: &tokio_postgres::Row) -> Result<Membership> {
        Ok(Membership {
            organization: Organization::from_row(row)?,
            role: row.try_get("role")?,
        })
    }
}

/// A user account to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub full_name: String,
    pub phone: Option<String>,
    pub password: Option<SecretString>,
}

/// Organizations: created and listed outside any one of them.
#[derive(Debug, Clone)]
pub struct Organizations {
    db: Db,
}

/// User accounts (global).
#[derive(Debug, Clone)]
pub struct Users {
    db: Db,
}

impl Db {
    /// Organizations: create with defaults, list for a user.
    pub fn organizations(&self) -> Organizations {
        Organizations { db: self.clone() }
    }

    /// User accounts.
    pub fn users(&self) -> Users {
        Users { db: self.clone() }
    }
}

impl Tenant {
    /// The handle's own organization.
    #[tracing::instrument(name = "tenant.organization", skip_all)]
    pub async fn organization(&self) -> Result<Organization> {
        let id = self.organization_id();
        self.read(async |tx| {
            query_as("SELECT * FROM organizations WHERE id = $1 AND deleted_at IS NULL")
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(Error::not_found(entity::ORGANIZATION))
        })
        .await
    }
}

impl Organizations {
    /// Creates an organization with its defaults (pipeline and stages, message templates,
    /// VoIP configs awaiting setup, baseline scoring model) and, with `owner`, makes that
    /// user its owner — all in one transaction.
    #[tracing::instrument(
        name = "organizations.create",
        skip_all,
        fields(owner = owner.map(tracing::field::display))
    )]
    pub async fn create(&self, new: &NewOrganization, owner: Option<Uuid>) -> Result<Organization> {
        let new = NewOrganization {
            name: validate::required("name", &new.name)?,
            slug: slug(&new.slug)?,
            ..new.clone()
        };
        // The organization is entered before it exists: row-level security lets the
        // application role insert only the organization it entered.
        let id = Uuid::now_v7();
        let mut tx = self.db.begin_entered(APP_ROLE, Some(id), owner).await?;
        let inserted: Option<Uuid> = query_scalar(crmdb_seed::INSERT_ORGANIZATION)
            .bind(id)
            .bind(new.name.as_str())
            .bind(new.slug.as_str())
            .bind(new.locale.as_deref())
            .bind(new.timezone.as_deref())
            .bind(new.currency.as_deref())
            .fetch_optional(&mut tx)
            .await?;
        if inserted.is_none() {
            return Err(seed_error(SeedError::SlugTaken { slug: new.slug }));
        }
        // Nothing below needs an answer before the organization is read back: the defaults
        // and the owner's membership go out with that read, the read with the commit.
        tx.defer(
            query(crmdb_seed::ORGANIZATION_DEFAULTS)
                .bind(id)
                .bind(crmdb_seed::organization_defaults(id).map_err(seed_error)?)
                .into_statement(),
        );
        if let Some(user_id) = owner {
            tx.defer(
                query(
                    "INSERT INTO organization_members (organization_id, user_id, role) \
                     VALUES ($1, $2, 'owner')",
                )
                .bind(id)
                .bind(user_id)
                .into_statement(),
            );
        }
        let organization = query_as("SELECT * FROM organizations WHERE id = $1")
            .bind(id)
            .fetch_one(&mut tx)
            .await
            .map_err(|e| e.missing_parent("fk_organization_members_users", entity::USER))?;
        tx.commit().await?;
        Ok(organization)
    }

    /// The organizations `user_id` is an active member of, by name, with the role there.
    #[tracing::instrument(name = "organizations.list_for_user", skip_all, fields(%user_id))]
    pub async fn list_for_user(&self, user_id: Uuid) -> Result<Vec<Membership>> {
        // No organization is selected: the own_memberships policy shows the user's own
        // membership rows only.
        let mut tx = self.db.begin_global(Some(user_id)).await?;
        let memberships = query_as(
            "SELECT o.*, m.role \
             FROM organization_members AS m \
             JOIN organizations AS o ON o.id = m.organization_id \
             WHERE m.user_id = $1 AND m.status = 'active' AND o.deleted_at IS NULL \
             ORDER BY o.name, o.id",
        )
        .bind(user_id)
        .fetch_all(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(memberships)
    }
}

impl Users {
    /// Creates a user (signs up); the password, when given, is stored as an argon2id hash.
    #[tracing::instrument(name = "users.create", skip_all)]
    pub async fn create(&self, new: &NewUser) -> Result<User> {
        let email = validate::email("email", &new.email)?;
        let full_name = validate::required("full_name", &new.full_name)?;
        let phone = validate::optional(new.phone.as_deref(), |p| validate::phone("phone", p))?;
        let password_hash = new
            .password
            .as_ref()
            .map(crmdb_secrets::hash_password)
            .transpose()?;
        // A user may only create their own account: the new id is the acting user.
        let id = Uuid::now_v7();
        let mut tx = self.db.begin_global(Some(id)).await?;
        let user = query_as(
            "INSERT INTO users (id, email, full_name, phone, password_hash) \
             VALUES ($1, $2, $3, $4, $5) \
             RETURNING id, email, full_name, phone, locale, is_active, email_verified_at, \
                       last_login_at, created_at, updated_at",
        )
        .bind(id)
        .bind(email)
        .bind(full_name)
        .bind(phone)
        .bind(password_hash)
        .fetch_one(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// The signed-in user's own account (`id` is the acting user).
    #[tracing::instrument(name = "users.get", skip_all, fields(%id))]
    pub async fn get(&self, id: Uuid) -> Result<User> {
        let mut tx = self.db.begin_global(Some(id)).await?;
        let user = own_account(&mut tx, id).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// The user with this e-mail and password; `None` when either is wrong (callers must
    /// not tell which). The stored hash never leaves the database: the password is hashed
    /// here with the stored parameters and salt, and the database compares.
    #[tracing::instrument(name = "users.authenticate", skip_all)]
    pub async fn authenticate(&self, email: &str, password: &SecretString) -> Result<Option<User>> {
        let email = validate::email("email", email)?;
        let mut tx = self.db.begin_global(None).await?;
        let parameters: Option<String> = query_scalar("SELECT login_parameters($1)")
            .bind(&email)
            .fetch_one(&mut tx)
            .await?;
        let Some(candidate) = parameters
            .as_deref()
            .and_then(|p| crmdb_secrets::hash_password_like(password, p))
        else {
            return Ok(None);
        };
        let user_id: Option<Uuid> = query_scalar("SELECT login_verify($1, $2)")
            .bind(&email)
            .bind(&candidate)
            .fetch_one(&mut tx)
            .await?;
        let Some(user_id) = user_id else {
            return Ok(None);
        };
        // Acting as the user shows their own account; it goes out with the read.
        tx.defer(
            query("SELECT set_config($1, $2, true)")
                .bind(crmdb_pg::tenancy::USER_SETTING)
                .bind(user_id.to_string())
                .into_statement(),
        );
        let user = own_account(&mut tx, user_id).await?;
        tx.commit().await?;
        Ok(Some(user))
    }
}

/// Where a user's TOTP secret is sealed (a global table: bound to no organization).
const TWO_FACTOR: (&str, &str) = ("user_two_factor", "secret_ciphertext");

impl Users {
    /// Starts (or restarts) TOTP enrolment of a user with `secret`, sealed at rest; the
    /// factor is enabled once [`Users::confirm_two_factor`] is called.
    #[tracing::instrument(name = "users.enroll_two_factor", skip_all, fields(%user_id))]
    pub async fn enroll_two_factor(&self, user_id: Uuid, secret: &SecretString) -> Result<()> {
        let (table, column) = TWO_FACTOR;
        let sealed = self
            .db
            .keyring()?
            .seal(secret, sealing::binding(None, table, column));
        let mut tx = self.db.begin_global(Some(user_id)).await?;
        // UPDATE, then INSERT: an upsert would need to read the row's secret columns.
        let restarted = query(
            "UPDATE user_two_factor \
             SET secret_ciphertext = $2, encryption_key_id = $3, enabled_at = NULL \
             WHERE user_id = $1",
        )
        .bind(user_id)
        .bind(&sealed.ciphertext)
        .bind(&sealed.key_id)
        .execute(&mut tx)
        .await?
        .rows_affected();
        if restarted == 0 {
            query(
                "INSERT INTO user_two_factor (user_id, secret_ciphertext, encryption_key_id) \
                 VALUES ($1, $2, $3)",
            )
            .bind(user_id)
            .bind(&sealed.ciphertext)
            .bind(&sealed.key_id)
            .execute(&mut tx)
            .await
            .map_err(|e| e.missing_parent("fk_user_two_factor_users", entity::USER))?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Enables the enrolled factor (after the user proved a first code).
    #[tracing::instrument(name = "users.confirm_two_factor", skip_all, fields(%user_id))]
    pub async fn confirm_two_factor(&self, user_id: Uuid) -> Result<()> {
        let mut tx = self.db.begin_global(Some(user_id)).await?;
        let updated = query(
            "UPDATE user_two_factor SET enabled_at = coalesce(enabled_at, now()) WHERE user_id = $1",
        )
        .bind(user_id)
        .execute(&mut tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        if updated == 0 {
            return Err(Error::not_found(entity::TWO_FACTOR_ENROLMENT));
        }
        Ok(())
    }

    /// The opened TOTP secret of a user, to verify a code.
    #[tracing::instrument(name = "users.two_factor_secret", skip_all, fields(%user_id))]
    pub async fn two_factor_secret(&self, user_id: Uuid) -> Result<SecretString> {
        let mut tx = self.db.begin_global(Some(user_id)).await?;
        let row: Option<(String, Vec<u8>)> =
            query_as("SELECT encryption_key_id, secret_ciphertext FROM two_factor_secret()")
                .fetch_optional(&mut tx)
                .await?;
        tx.commit().await?;
        let (key_id, ciphertext) = row.ok_or(Error::not_found(entity::TWO_FACTOR_ENROLMENT))?;
        let (table, column) = TWO_FACTOR;
        let sealed = crmdb_secrets::Sealed { key_id, ciphertext };
        Ok(self
            .db
            .keyring()?
            .open(&sealed, sealing::binding(None, table, column))?)
    }
}

/// The acting user's own account, without the password hash (which the application role
/// cannot read).
pub(crate) async fn own_account(conn: &mut crate::db::Conn, id: Uuid) -> Result<User> {
    query_as(
        "SELECT id, email, full_name, phone, locale, is_active, email_verified_at, \
                last_login_at, created_at, updated_at \
         FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(Error::not_found(entity::USER))
}

/// A slug as the schema accepts it: a DNS label of lower-case letters, digits and hyphens.
fn slug(value: &str) -> Result<String> {
    let valid = (1..=63).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if !valid {
        return Err(Error::invalid(
            "slug",
            "must be 1 to 63 lower-case letters, digits or inner hyphens",
        ));
    }
    Ok(value.to_owned())
}

fn seed_error(error: SeedError) -> Error {
    match error {
        SeedError::SlugTaken { .. } => Error::Conflict {
            constraint: "uq_organizations_slug".to_owned(),
        },
        other => Error::Seed(other),
    }
}
