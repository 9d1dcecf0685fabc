//! The pt-BR vocabulary of the demo data, from the word lists of `seeds/demo/`.

use std::sync::OnceLock;

macro_rules! list {
    ($file:literal) => {
        include_str!(concat!("../../../seeds/demo/", $file))
    };
}

/// Every word list, parsed once.
#[derive(Debug)]
pub struct Words {
    pub first_names: Vec<&'static str>,
    pub surnames: Vec<&'static str>,
    pub business_kinds: Vec<&'static str>,
    pub business_names: Vec<&'static str>,
    pub company_suffixes: Vec<&'static str>,
    /// (city, state, area code)
    pub cities: Vec<(&'static str, &'static str, &'static str)>,
    pub job_titles: Vec<&'static str>,
    pub inbound_messages: Vec<&'static str>,
    pub outbound_messages: Vec<&'static str>,
    pub email_subjects: Vec<&'static str>,
    pub call_summaries: Vec<&'static str>,
    pub notes: Vec<&'static str>,
    /// (task type, title)
    pub task_titles: Vec<(&'static str, &'static str)>,
    /// (name, colour)
    pub tags: Vec<(&'static str, &'static str)>,
    pub lost_reasons: Vec<&'static str>,
}

/// The word lists.
pub fn words() -> &'static Words {
    static WORDS: OnceLock<Words> = OnceLock::new();
    WORDS.get_or_init(|| Words {
        first_names: lines(list!("first_names.txt")),
        surnames: lines(list!("surnames.txt")),
        business_kinds: lines(list!("business_kinds.txt")),
        business_names: lines(list!("business_names.txt")),
        company_suffixes: lines(list!("company_suffixes.txt")),
        cities: lines(list!("cities.txt"))
            .into_iter()
            .map(|line| {
                let mut parts = line.split('|');
                let mut next = || parts.next().unwrap_or_default();
                (next(), next(), next())
            })
            .collect(),
        job_titles: lines(list!("job_titles.txt")),
        inbound_messages: lines(list!("inbound_messages.txt")),
        outbound_messages: lines(list!("outbound_messages.txt")),
        email_subjects: lines(list!("email_subjects.txt")),
        call_summaries: lines(list!("call_summaries.txt")),
        notes: lines(list!("notes.txt")),
        task_titles: pairs(list!("task_titles.txt")),
        tags: pairs(list!("tags.txt")),
        lost_reasons: lines(list!("lost_reasons.txt")),
    })
}

fn lines(text: &'static str) -> Vec<&'static str> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
}

fn pairs(text: &'static str) -> Vec<(&'static str, &'static str)> {
    lines(text)
        .into_iter()
        .map(|line| line.split_once('|').unwrap_or((line, "")))
        .collect()
}

/// `text` in lower-case ASCII: accents dropped, so names make valid e-mail local parts.
pub fn ascii_fold(text: &str) -> String {
    text.chars()
        .filter_map(|c| {
            let folded = match c {
                'á' | 'à' | 'â' | 'ã' | 'ä' | 'Á' | 'À' | 'Â' | 'Ã' => 'a',
                'é' | 'ê' | 'è' | 'É' | 'Ê' => 'e',
                'í' | 'ì' | 'Í' => 'i',
                'ó' | 'ô' | 'õ' | 'ò' | 'Ó' | 'Ô' | 'Õ' => 'o',
                'ú' | 'ü' | 'ù' | 'Ú' => 'u',
                'ç' | 'Ç' => 'c',
                c if c.is_ascii_alphanumeric() => c.to_ascii_lowercase(),
                _ => return None,
            };
            Some(folded)
        })
        .collect()
}

/// A slug of `text`: lower-case ASCII words joined by hyphens.
pub fn slugify(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .map(ascii_fold)
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_list_has_entries_and_cities_have_area_codes() {
        let w = words();
        assert!(w.first_names.len() >= 50 && w.surnames.len() >= 50);
        assert!(w
            .cities
            .iter()
            .all(|(_, uf, ddd)| uf.len() == 2 && ddd.len() == 2));
        assert!(w.tags.iter().all(|(_, color)| color.len() == 7));
        let types = ["call", "email", "meeting", "whatsapp", "follow_up", "other"];
        assert!(w.task_titles.iter().all(|(t, _)| types.contains(t)));
    }

    #[test]
    fn folding_and_slugs_are_plain_ascii() {
        assert_eq!(ascii_fold("João Conceição"), "joaoconceicao");
        assert_eq!(
            slugify("Padaria São Jorge & Filhos"),
            "padaria-sao-jorge-filhos"
        );
    }
}
