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

/// Where generated ids come from: random (the default), or a seeded
/// generator (`--deterministic SEED`) so that port ids, MACs and request ids
/// repeat run to run for the same sequence of calls.
#[derive(Debug, Default)]
pub struct IdSource {
    seeded: Option<std::sync::Mutex<rand_chacha::ChaCha8Rng>>,
}

impl IdSource {
    pub fn random() -> Self {
        IdSource { seeded: None }
    }

    pub fn seeded(seed: u64) -> Self {
        use rand_chacha::rand_core::SeedableRng;
        IdSource {
            seeded: Some(std::sync::Mutex::new(
                rand_chacha::ChaCha8Rng::seed_from_u64(seed),
            )),
        }
    }

    pub fn is_deterministic(&self) -> bool {
        self.seeded.is_some()
    }

    fn uuid_value(&self) -> uuid::Uuid {
        match &self.seeded {
            None => uuid::Uuid::new_v4(),
            Some(rng) => {
                use rand_chacha::rand_core::RngCore;
                let mut bytes = [0u8; 16];
                rng.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .fill_bytes(&mut bytes);
                uuid::Builder::from_random_bytes(bytes).into_uuid()
            }
        }
    }

    /// A number in [0, 1) from the same source, so that fault
    /// probabilities repeat too in deterministic mode.
    pub fn draw(&self) -> f64 {
        let bits = u64::from_le_bytes(
            self.uuid_value().into_bytes()[..8]
                .try_into()
                .expect("8 bytes"),
        );
        (bits >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A canonical (lower-case, hyphenated) UUID4 string.
    pub fn uuid(&self) -> String {
        self.uuid_value().to_string()
    }

    /// Nova's request id form: `req-<uuid4>`.
    pub fn request_id(&self) -> String {
        let mut id = String::with_capacity(40);
        id.push_str("req-");
        id.push_str(
            self.uuid_value()
                .hyphenated()
                .encode_lower(&mut uuid::Uuid::encode_buffer()),
        );
        id
    }

    /// A MAC under OpenStack's `fa:16:3e` base.
    pub fn mac(&self) -> String {
        let bytes = self.uuid_value().into_bytes();
        format!(
            "fa:16:3e:{:02x}:{:02x}:{:02x}",
            bytes[0], bytes[1], bytes[2]
        )
    }
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
    fn seeded_ids_repeat() {
        let (a, b) = (IdSource::seeded(7), IdSource::seeded(7));
        let first: Vec<String> = (0..3).map(|_| a.uuid()).collect();
        let again: Vec<String> = (0..3).map(|_| b.uuid()).collect();
        assert_eq!(first, again);
        assert_eq!(a.mac(), b.mac());
        assert_eq!(a.request_id(), b.request_id());
        assert_ne!(IdSource::seeded(8).uuid(), first[0]);
        assert!(is_uuid_like(&first[0]));
        assert_eq!(
            uuid::Uuid::parse_str(&first[0]).unwrap().get_version_num(),
            4
        );
    }

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
