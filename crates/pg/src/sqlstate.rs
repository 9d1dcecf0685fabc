//! The SQLSTATE codes crmdb reacts to, by their PostgreSQL names (Appendix A of the
//! PostgreSQL manual), and the one way to read a code off an error.

/// `unique_violation`.
pub const UNIQUE_VIOLATION: &str = "23505";
/// `foreign_key_violation`.
pub const FOREIGN_KEY_VIOLATION: &str = "23503";
/// `exclusion_violation`.
pub const EXCLUSION_VIOLATION: &str = "23P01";
/// `check_violation`.
pub const CHECK_VIOLATION: &str = "23514";
/// `not_null_violation`.
pub const NOT_NULL_VIOLATION: &str = "23502";
/// `invalid_parameter_value`: for example a search text over its length cap.
pub const INVALID_PARAMETER_VALUE: &str = "22023";
/// `invalid_catalog_name`: for example a database that does not exist.
pub const INVALID_CATALOG_NAME: &str = "3D000";
/// `insufficient_privilege`.
pub const INSUFFICIENT_PRIVILEGE: &str = "42501";
/// `duplicate_object`: for example a role that already exists.
pub const DUPLICATE_OBJECT: &str = "42710";
/// `duplicate_database`.
pub const DUPLICATE_DATABASE: &str = "42P04";
/// `object_in_use`: for example a template database another session is connected to.
pub const OBJECT_IN_USE: &str = "55006";
/// `lock_not_available`: `lock_timeout` expired.
pub const LOCK_NOT_AVAILABLE: &str = "55P03";
/// `deadlock_detected`.
pub const DEADLOCK_DETECTED: &str = "40P01";

/// The SQLSTATE of `error` when the server sent one.
pub fn of(error: &sqlx::Error) -> Option<String> {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned())
}

/// Whether the server answered `error` with one of `codes`.
pub fn is(error: &sqlx::Error, codes: &[&str]) -> bool {
    of(error).is_some_and(|code| codes.contains(&code.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_without_a_server_answer_has_no_code() {
        let error = sqlx::Error::PoolTimedOut;
        assert_eq!(of(&error), None);
        assert!(!is(&error, &[UNIQUE_VIOLATION]));
    }
}
