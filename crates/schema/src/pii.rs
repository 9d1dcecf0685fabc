//! The personal-data map (LGPD, Lei 13.709/2018): the classification a column's comment
//! declares on its first line (`pii: contact`), and which columns must declare one because
//! their name or type suggests personal data. Pure: the audit, the docs and the data layer's
//! privacy operations read the same answers.

use std::fmt;
use std::str::FromStr;

/// What a column holds about a person, as the first line of its comment declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pii {
    /// Names or reaches a person: name, e-mail, phone, address.
    Contact,
    /// Points at a person indirectly: IP address, user agent, session or provider ids.
    Identifier,
    /// Free text or JSON written by or about a person, which may hold anything.
    Content,
    /// Holds no personal data: closed vocabularies, codes, configuration.
    None,
}

impl Pii {
    pub const ALL: [Pii; 4] = [Pii::Contact, Pii::Identifier, Pii::Content, Pii::None];

    pub fn as_str(self) -> &'static str {
        match self {
            Pii::Contact => "contact",
            Pii::Identifier => "identifier",
            Pii::Content => "content",
            Pii::None => "none",
        }
    }

    /// Whether an erasure must clear the column in a row about the subject.
    pub fn is_personal(self) -> bool {
        self != Pii::None
    }
}

impl fmt::Display for Pii {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Pii {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Pii::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| s.to_owned())
    }
}

/// The tag that starts a classification line.
pub const TAG: &str = "pii:";

/// A comment read for its classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Classified<'a> {
    /// No `pii:` line: the comment (possibly empty) says nothing about personal data.
    Unclassified,
    /// `pii: <class>` on the first line; `rest` is the comment after that line.
    Classified { pii: Pii, rest: &'a str },
    /// A first line that starts with `pii:` but names no class (`pii: email`, `pii:`).
    Malformed { class: &'a str },
}

/// Reads the first line of a column comment: `pii: contact`, optionally followed by a newline
/// and the comment's own text. The tag must start the comment, so a description mentioning
/// "pii:" further on classifies nothing.
pub fn classify(comment: Option<&str>) -> Classified<'_> {
    let Some(comment) = comment else {
        return Classified::Unclassified;
    };
    let (first, rest) = comment.split_once('\n').unwrap_or((comment, ""));
    let Some(class) = first.strip_prefix(TAG) else {
        return Classified::Unclassified;
    };
    let class = class.trim();
    match class.parse() {
        Ok(pii) => Classified::Classified { pii, rest },
        Err(_) => Classified::Malformed { class },
    }
}

/// The comment without its classification line: what a reader of the docs wants.
pub fn description(comment: Option<&str>) -> &str {
    match classify(comment) {
        Classified::Classified { rest, .. } => rest,
        _ => comment.unwrap_or_default(),
    }
}

/// Words of a column name (split on `_`) that name personal data whatever the column's type:
/// a `cpf bigint` or a `birth_date date` is as personal as a text one.
const PERSONAL_WORDS: &[&str] = &[
    "name", "email", "mail", "phone", "mobile", "whatsapp", "cpf", "cnpj", "rg", "document",
    "address", "street", "city", "cep", "zip", "ip", "agent", "birth", "birthday", "location",
];

/// Types that can carry free text, structured payloads or network addresses, and so any
/// personal data at all.
const PERSONAL_TYPES: &[&str] = &[
    "text", "jsonb", "json", "inet", "cidr", "macaddr", "macaddr8", "citext", "xml",
];

/// Why a column must declare a classification, or `None` when neither its name nor its type
/// suggests personal data (a uuid, a number, a timestamp, a ciphertext).
pub fn suspicion(column: &str, data_type: &str) -> Option<String> {
    let name = column.to_ascii_lowercase();
    if let Some(word) = name.split('_').find(|w| PERSONAL_WORDS.contains(w)) {
        return Some(format!("its name has {word:?}"));
    }
    let base = data_type.trim_end_matches("[]");
    let base = base.split('(').next().unwrap_or(base).trim();
    if PERSONAL_TYPES.contains(&base) || base.starts_with("character") {
        return Some(format!("its type {data_type} can hold personal data"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_first_line() {
        assert_eq!(
            classify(Some("pii: contact")),
            Classified::Classified {
                pii: Pii::Contact,
                rest: ""
            }
        );
        assert_eq!(
            classify(Some("pii: content\nMessage text.\nSecond line.")),
            Classified::Classified {
                pii: Pii::Content,
                rest: "Message text.\nSecond line."
            }
        );
        assert_eq!(
            classify(Some("pii:none")),
            Classified::Classified {
                pii: Pii::None,
                rest: ""
            }
        );
        assert_eq!(classify(None), Classified::Unclassified);
        assert_eq!(
            classify(Some("Message text. pii: none")),
            Classified::Unclassified
        );
        assert_eq!(classify(Some("Text\npii: none")), Classified::Unclassified);
        assert_eq!(
            classify(Some("pii: email")),
            Classified::Malformed { class: "email" }
        );
        assert_eq!(classify(Some("pii:")), Classified::Malformed { class: "" });
    }

    #[test]
    fn every_class_round_trips() {
        for pii in Pii::ALL {
            assert_eq!(pii.as_str().parse::<Pii>(), Ok(pii));
            assert_eq!(
                classify(Some(&format!("{TAG} {pii}"))),
                Classified::Classified { pii, rest: "" }
            );
        }
        assert!(!Pii::None.is_personal());
        assert!(Pii::Content.is_personal());
    }

    #[test]
    fn the_description_drops_the_classification() {
        assert_eq!(description(Some("pii: contact\nE.164.")), "E.164.");
        assert_eq!(description(Some("E.164.")), "E.164.");
        assert_eq!(description(Some("pii: bogus")), "pii: bogus");
        assert_eq!(description(None), "");
    }

    #[test]
    fn names_and_types_raise_suspicion() {
        assert_eq!(
            suspicion("customer_cpf", "bigint").as_deref(),
            Some("its name has \"cpf\"")
        );
        assert_eq!(
            suspicion("birth_date", "date").as_deref(),
            Some("its name has \"birth\"")
        );
        assert!(suspicion("status", "text").is_some());
        assert!(suspicion("tags", "text[]").is_some());
        assert!(suspicion("ip", "inet").is_some());
        assert!(suspicion("label", "character varying(40)").is_some());
        assert!(suspicion("payload", "jsonb").is_some());
        assert_eq!(suspicion("lead_id", "uuid"), None);
        assert_eq!(suspicion("secret_ciphertext", "bytea"), None);
        assert_eq!(suspicion("created_at", "timestamp with time zone"), None);
        assert_eq!(suspicion("shipping", "integer"), None);
    }
}
