//! Checks of input values before they reach the database, so the common mistakes come back
//! as [`Error::InvalidInput`] naming the field and the rule in plain words. The schema's
//! `CHECK` constraints stay the final word; these only explain them earlier.

use crate::error::{Error, Result};

/// A required text: not empty after trimming. Returns it trimmed.
pub(crate) fn required(field: &'static str, value: &str) -> Result<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    Ok(trimmed.to_owned())
}

/// An e-mail address, stored lower-case as the schema requires. Returns it normalized.
pub(crate) fn email(field: &'static str, value: &str) -> Result<String> {
    let normalized = value.trim().to_lowercase();
    let valid = match normalized.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !normalized.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if !valid {
        return Err(Error::invalid(
            field,
            "must be an e-mail address (name@domain)",
        ));
    }
    Ok(normalized)
}

/// A phone number in E.164 form: `+`, a non-zero digit, then 7 to 14 digits.
pub(crate) fn phone(field: &'static str, value: &str) -> Result<String> {
    let digits = value.strip_prefix('+').unwrap_or("");
    let valid = (8..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0');
    if !valid {
        return Err(Error::invalid(
            field,
            "must be an E.164 phone number (+5511999999999)",
        ));
    }
    Ok(value.to_owned())
}

/// A percentage-like score from 0 to 100.
pub(crate) fn score(field: &'static str, value: i32) -> Result<i32> {
    if !(0..=100).contains(&value) {
        return Err(Error::invalid(field, "must be between 0 and 100"));
    }
    Ok(value)
}

/// An optional value checked by `check` when present.
pub(crate) fn optional<T, U>(
    value: Option<T>,
    check: impl FnOnce(T) -> Result<U>,
) -> Result<Option<U>> {
    value.map(check).transpose()
}

/// An `https://` URL (webhook endpoints, recordings, meeting links) with a host and no
/// user name or password in it: credentials belong in a sealed secret, not in a URL that is
/// listed, logged and recorded in the audit log.
pub(crate) fn https_url(field: &'static str, value: &str) -> Result<String> {
    let value = value.trim();
    let Some(rest) = value.strip_prefix("https://") else {
        return Err(Error::invalid(field, "must be an https:// URL"));
    };
    let authority = url_authority(rest);
    if authority.is_empty() {
        return Err(Error::invalid(field, "must be an https:// URL"));
    }
    if authority.contains('@') {
        return Err(Error::invalid(
            field,
            "must not carry a user name or password (keep credentials in the secret)",
        ));
    }
    Ok(value.to_owned())
}

/// The host (and port) of an `https://` URL checked by [`https_url`]: what may be shown or
/// recorded of it, since its path and query can carry a token (`/services/T0/B0/XyZ`).
pub(crate) fn url_host(url: &str) -> &str {
    url_authority(url.strip_prefix("https://").unwrap_or(url))
}

/// The authority of a URL whose scheme and `://` are already cut off.
fn url_authority(rest: &str) -> &str {
    rest.split(['/', '?', '#']).next().unwrap_or_default()
}

/// A dotted lower-case name (`lead.created`, `email.send`): event and job types.
pub(crate) fn dotted_name(field: &'static str, value: &str) -> Result<String> {
    let valid = !value.is_empty()
        && value.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c.is_ascii_lowercase())
                && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        });
    if !valid {
        return Err(Error::invalid(
            field,
            "must be dotted lower-case words (e.g. lead.created)",
        ));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(
            email("email", " Ana@Example.COM ").unwrap(),
            "ana@example.com"
        );
        assert!(email("email", "no-at-sign").is_err());
        assert!(email("email", "a@b@c").is_err());
        assert!(email("email", "a b@c").is_err());
    }

    #[test]
    fn phones_must_be_e164() {
        assert!(phone("phone", "+5511999999999").is_ok());
        assert!(phone("phone", "5511999999999").is_err());
        assert!(phone("phone", "+0511999999").is_err());
        assert!(phone("phone", "+55119").is_err());
    }

    #[test]
    fn names_scores_and_urls() {
        assert_eq!(required("name", "  Ana ").unwrap(), "Ana");
        assert!(required("name", "   ").is_err());
        assert!(score("lead_score", 101).is_err());
        assert!(https_url("url", "http://x").is_err());
        assert!(https_url("url", "https://").is_err());
        assert!(https_url("url", "https:///path").is_err());
        assert!(https_url("url", "https://user:pass@hooks.example.com/x").is_err());
        assert_eq!(
            url_host("https://hooks.example.com:8443/services/T0/B0/XyZ?token=1"),
            "hooks.example.com:8443"
        );
        assert!(dotted_name("event_type", "lead.created").is_ok());
        assert!(dotted_name("event_type", "Lead.Created").is_err());
        assert!(dotted_name("event_type", "lead..created").is_err());
    }
}
