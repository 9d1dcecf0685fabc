//! Identifier and literal quoting: the one audited place where a dynamic SQL identifier (a
//! database, role or table name that cannot be a bound parameter) is turned into SQL text.

/// Quotes `name` as a PostgreSQL identifier: wrapped in double quotes, inner quotes doubled.
/// A NUL byte cannot occur in an identifier, so it is refused rather than silently cut.
pub fn quote_ident(name: &str) -> Result<String, InvalidIdentifier> {
    if name.is_empty() || name.contains('\0') || name.len() > 63 {
        return Err(InvalidIdentifier(name.to_owned()));
    }
    Ok(format!("\"{}\"", name.replace('"', "\"\"")))
}

/// Quotes `value` as a SQL string literal (`'...'`, inner quotes doubled). Only for the
/// statements that take no bound parameters (`CREATE ROLE ... PASSWORD`); with
/// `standard_conforming_strings` (on since PostgreSQL 9.1) backslashes are plain characters.
pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// An identifier that PostgreSQL cannot accept.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a valid PostgreSQL identifier (it must be 1 to 63 bytes without NUL)")]
pub struct InvalidIdentifier(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_doubles_inner_quotes() {
        assert_eq!(quote_ident("crm").unwrap(), "\"crm\"");
        assert_eq!(quote_ident("a\"b").unwrap(), "\"a\"\"b\"");
        assert_eq!(quote_ident("Robert'); DROP").unwrap(), "\"Robert'); DROP\"");
    }

    #[test]
    fn literals_double_inner_quotes() {
        assert_eq!(quote_literal("abc"), "'abc'");
        assert_eq!(quote_literal("it's'); DROP"), "'it''s''); DROP'");
    }

    #[test]
    fn refuses_what_postgres_cannot_name() {
        assert!(quote_ident("").is_err());
        assert!(quote_ident("a\0b").is_err());
        assert!(quote_ident(&"x".repeat(64)).is_err());
    }
}
