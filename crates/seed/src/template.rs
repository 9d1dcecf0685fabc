//! The `{{variable}}` placeholders of message templates: extracting them (the same rule as
//! the schema's `template_placeholders()`) and rendering a template with values.

/// The distinct placeholder names of `content`, in order of first use.
pub fn placeholders(content: &str) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for (_, name, _) in Placeholders::new(content) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// `content` with every placeholder replaced by `value(name)`; the first name without a
/// value is the error.
pub fn render<F>(content: &str, mut value: F) -> Result<String, &str>
where
    F: FnMut(&str) -> Option<String>,
{
    let mut out = String::with_capacity(content.len() + 32);
    let mut copied = 0;
    for (start, name, end) in Placeholders::new(content) {
        out.push_str(&content[copied..start]);
        out.push_str(&value(name).ok_or(name)?);
        copied = end;
    }
    out.push_str(&content[copied..]);
    Ok(out)
}

/// Iterates `(start, name, end)` byte positions of the placeholders of a text. A name is a
/// letter or underscore then letters, digits, underscores, optionally padded with spaces
/// inside the braces; anything else between braces is literal text.
struct Placeholders<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Placeholders<'a> {
    fn new(text: &'a str) -> Self {
        Placeholders { text, at: 0 }
    }
}

impl<'a> Iterator for Placeholders<'a> {
    type Item = (usize, &'a str, usize);

    fn next(&mut self) -> Option<Self::Item> {
        while let Some(offset) = self.text[self.at..].find("{{") {
            let start = self.at + offset;
            let inner_start = start + 2;
            let Some(close) = self.text[inner_start..].find("}}") else {
                self.at = self.text.len();
                return None;
            };
            let inner = self.text[inner_start..inner_start + close].trim();
            let end = inner_start + close + 2;
            let mut chars = inner.chars();
            let valid = chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
            if valid {
                self.at = end;
                return Some((start, inner, end));
            }
            self.at = start + 1;
        }
        self.at = self.text.len();
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_distinct_in_order_of_first_use() {
        assert_eq!(
            placeholders("Oi {{lead_name}}, {{ company }} e {{lead_name}} {{1x}} {{}}"),
            vec!["lead_name", "company"]
        );
        assert!(placeholders("sem variáveis {{ não }}").is_empty());
    }

    #[test]
    fn render_replaces_every_placeholder_or_names_the_missing_one() {
        let text = "Olá, {{lead_name}}! Proposta de {{value}}.";
        let rendered = render(text, |name| match name {
            "lead_name" => Some("Ana".to_owned()),
            "value" => Some("R$ 1.500,00".to_owned()),
            _ => None,
        });
        assert_eq!(rendered.unwrap(), "Olá, Ana! Proposta de R$ 1.500,00.");
        assert_eq!(render(text, |_| None), Err("lead_name"));
    }
}
