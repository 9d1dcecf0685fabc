//! Rows in `COPY … FROM STDIN` text format: tab-separated fields, `\N` for NULL, and
//! backslash escapes for the bytes COPY treats specially.

use std::io::Write;

use uuid::Uuid;

/// A timestamp in Unix milliseconds (UTC): the demo's unit of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ts(pub i64);

/// A `bytea` value.
pub struct Bytea<'a>(pub &'a [u8]);

/// A `jsonb` value.
pub struct Json<'a>(pub &'a serde_json::Value);

/// A `text[]` value.
pub struct TextArray<'a>(pub &'a [String]);

/// A value that can be written as one COPY field.
pub trait Field {
    fn write(&self, out: &mut Vec<u8>);
}

/// The rows of one table, in COPY text format.
#[derive(Debug, Default)]
pub struct CopyBuf {
    pub bytes: Vec<u8>,
    pub rows: u64,
}

impl CopyBuf {
    /// Appends one row; `fields` must follow the column list of the table's COPY.
    pub fn row(&mut self, fields: &[&dyn Field]) {
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                self.bytes.push(b'\t');
            }
            field.write(&mut self.bytes);
        }
        self.bytes.push(b'\n');
        self.rows += 1;
    }
}

/// Escapes text for a COPY field: the backslash, and the row and field separators.
fn escape_into(out: &mut Vec<u8>, text: &[u8]) {
    for &b in text {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

/// An `io::Write` that escapes what is written through it (for serializers).
struct Escaping<'a>(&'a mut Vec<u8>);

impl Write for Escaping<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        escape_into(self.0, buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Field for str {
    fn write(&self, out: &mut Vec<u8>) {
        escape_into(out, self.as_bytes());
    }
}

impl Field for &str {
    fn write(&self, out: &mut Vec<u8>) {
        escape_into(out, self.as_bytes());
    }
}

impl Field for String {
    fn write(&self, out: &mut Vec<u8>) {
        escape_into(out, self.as_bytes());
    }
}

impl<T: Field> Field for Option<T> {
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Some(value) => value.write(out),
            None => out.extend_from_slice(b"\\N"),
        }
    }
}

impl Field for Uuid {
    fn write(&self, out: &mut Vec<u8>) {
        let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
        out.extend_from_slice(self.hyphenated().encode_lower(&mut buf).as_bytes());
    }
}

impl Field for bool {
    fn write(&self, out: &mut Vec<u8>) {
        out.push(if *self { b't' } else { b'f' });
    }
}

macro_rules! display_field {
    ($($t:ty),*) => {$(
        impl Field for $t {
            fn write(&self, out: &mut Vec<u8>) {
                write!(out, "{self}").expect("writing to a Vec cannot fail");
            }
        }
    )*};
}

display_field!(i32, i64, u32, u64);

impl Field for Ts {
    fn write(&self, out: &mut Vec<u8>) {
        let Some(at) = chrono::DateTime::from_timestamp_millis(self.0) else {
            out.extend_from_slice(b"\\N");
            return;
        };
        use chrono::{Datelike, Timelike};
        write!(
            out,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}+00",
            at.year(),
            at.month(),
            at.day(),
            at.hour(),
            at.minute(),
            at.second(),
            at.timestamp_subsec_millis()
        )
        .expect("writing to a Vec cannot fail");
    }
}

impl Field for Bytea<'_> {
    fn write(&self, out: &mut Vec<u8>) {
        // bytea's hex input `\x…`, its backslash escaped for COPY.
        out.extend_from_slice(b"\\\\x");
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for &b in self.0 {
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 15)]);
        }
    }
}

impl Field for Json<'_> {
    fn write(&self, out: &mut Vec<u8>) {
        serde_json::to_writer(Escaping(out), self.0).expect("serializing JSON cannot fail");
    }
}

impl Field for serde_json::Value {
    fn write(&self, out: &mut Vec<u8>) {
        Json(self).write(out);
    }
}

impl Field for TextArray<'_> {
    fn write(&self, out: &mut Vec<u8>) {
        // Array literal with every element quoted; inside quotes `"` and `\` take a
        // backslash, which COPY's escaping then doubles.
        let mut literal = Vec::with_capacity(2 + self.0.iter().map(|s| s.len() + 3).sum::<usize>());
        literal.push(b'{');
        for (i, element) in self.0.iter().enumerate() {
            if i > 0 {
                literal.push(b',');
            }
            literal.push(b'"');
            for &b in element.as_bytes() {
                if b == b'"' || b == b'\\' {
                    literal.push(b'\\');
                }
                literal.push(b);
            }
            literal.push(b'"');
        }
        literal.push(b'}');
        escape_into(out, &literal);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(fields: &[&dyn Field]) -> String {
        let mut buf = CopyBuf::default();
        buf.row(fields);
        String::from_utf8(buf.bytes).unwrap()
    }

    #[test]
    fn fields_are_escaped_and_separated() {
        let none: Option<&str> = None;
        assert_eq!(
            line(&[&"a\tb\\c\nd", &none, &true, &42i32]),
            "a\\tb\\\\c\\nd\t\\N\tt\t42\n"
        );
    }

    #[test]
    fn special_types_use_their_text_input_forms() {
        assert_eq!(line(&[&Ts(0)]), "1970-01-01 00:00:00.000+00\n");
        assert_eq!(line(&[&Bytea(&[0, 255])]), "\\\\x00ff\n");
        let json = serde_json::json!({"a": "x\"y\n"});
        assert_eq!(line(&[&Json(&json)]), "{\"a\":\"x\\\\\"y\\\\n\"}\n");
        let array = ["m=1,t=2".to_owned(), "q\"".to_owned()];
        assert_eq!(line(&[&TextArray(&array)]), "{\"m=1,t=2\",\"q\\\\\"\"}\n");
    }
}
