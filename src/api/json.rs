//! JSON as Nova writes it: Python's `json.dumps` spacing (`", "`, `": "`).

use serde::Serialize;

struct PythonFormatter;

impl serde_json::ser::Formatter for PythonFormatter {
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(b": ")
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }
}

/// Serialize `value` the way Python's `json.dumps` would lay it out.
pub fn to_json(value: &impl Serialize) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    value.serialize(&mut serializer).expect("serializable");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn python_spacing() {
        let v = serde_json::json!({"a": [1, 2], "b": "x", "c": {}});
        assert_eq!(
            String::from_utf8(super::to_json(&v)).unwrap(),
            r#"{"a": [1, 2], "b": "x", "c": {}}"#
        );
    }
}
