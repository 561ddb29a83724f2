//! Identifier rules shared by every layer.

/// oslo.utils `is_uuid_like`: after dropping `urn:`/`uuid:` prefixes, the
/// surrounding braces and every hyphen, exactly 32 hex digits remain.
pub fn is_uuid_like(value: &str) -> bool {
    // Fast path: the canonical form, no allocation.
    let b = value.as_bytes();
    if b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
    {
        return true;
    }
    let stripped = value.replace("urn:", "").replace("uuid:", "");
    let stripped = stripped.trim_matches(|c| c == '{' || c == '}');
    let mut digits = 0usize;
    for c in stripped.chars() {
        match c {
            '-' => {}
            c if c.is_ascii_hexdigit() => digits += 1,
            _ => return false,
        }
    }
    digits == 32
}

/// A fresh canonical (lower-case, hyphenated) UUID4 string.
pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Nova's request id form: `req-<uuid4>`.
pub fn new_request_id() -> String {
    let mut id = String::with_capacity(40);
    id.push_str("req-");
    id.push_str(
        uuid::Uuid::new_v4()
            .hyphenated()
            .encode_lower(&mut uuid::Uuid::encode_buffer()),
    );
    id
}

/// Is `value` a project id as Nova's router accepts it (`[0-9a-f-]+`)?
pub fn is_route_project_id(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_like_forms() {
        for ok in [
            "3cb9bc59-5699-4588-a4b1-b87f96708bc6",
            "3CB9BC59-5699-4588-A4B1-B87F96708BC6",
            "3cb9bc5956994588a4b1b87f96708bc6",
            "{3cb9bc59-5699-4588-a4b1-b87f96708bc6}",
            "urn:uuid:3cb9bc59-5699-4588-a4b1-b87f96708bc6",
        ] {
            assert!(is_uuid_like(ok), "{ok}");
        }
        for bad in [
            "non_uuid",
            "",
            "3cb9bc59-5699-4588-a4b1-b87f96708bc",
            "3cb9bc59-5699-4588-a4b1-b87f96708bc6a",
            "3cb9bc59_5699_4588_a4b1_b87f96708bc6",
            " 3cb9bc59-5699-4588-a4b1-b87f96708bc6",
        ] {
            assert!(!is_uuid_like(bad), "{bad}");
        }
    }

    #[test]
    fn route_project_ids() {
        assert!(is_route_project_id("6f70656e737461636b20342065766572"));
        assert!(is_route_project_id("123"));
        assert!(!is_route_project_id("ABC"));
        assert!(!is_route_project_id("demo"));
        assert!(!is_route_project_id(""));
    }
}
