//! What a rule's check reads, the parsed set and its [`Model`], and what it returns, the
//! violations; shared by the checks in `rules/` and the silencing in `allow.rs`.

use rowan::TextRange;

use crate::model::{Model, Site};
use crate::rule::Rule;
use crate::source::Parsed;

pub(crate) struct Context<'a> {
    pub files: &'a [Parsed],
    pub model: &'a Model,
}

/// A broken rule before silencing and before its position is turned into a line.
#[derive(Debug)]
pub(crate) struct Violation {
    pub file: usize,
    pub range: TextRange,
    pub rule: Rule,
    pub message: String,
    pub help: Option<String>,
}

impl Violation {
    pub fn at(site: Site, rule: Rule, message: String, help: &str) -> Violation {
        Violation {
            file: site.file,
            range: site.range,
            rule,
            message,
            help: Some(help.into()),
        }
    }
}
