//! Identifier rules shared by every layer, and the id types of the model.

use std::borrow::Borrow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// An id type: text that only its own kind of id can be mistaken for.
/// Shared (`Arc<str>`): the world keeps each id in several indexes, and a
/// copy is a count, not an allocation (a load indexes a million ports).
/// `Borrow<str>` keeps map lookups by `&str` working; serde sees the string.
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(std::sync::Arc<str>);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id.into())
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.into())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0.as_ref().to_owned()
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                &*self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                &*self.0 == *other
            }
        }
    };
}

id_type!(
    /// A server's (Nova instance's) UUID.
    ServerId
);
id_type!(
    /// A Neutron port's UUID.
    PortId
);
id_type!(
    /// A Neutron network's UUID.
    NetworkId
);
id_type!(
    /// A Neutron subnet's UUID.
    SubnetId
);

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
/// generator (`--deterministic SEED`) so that port ids, MACs, request ids and
/// fault draws repeat run to run for the same sequence of calls.
#[derive(Debug, Default)]
pub struct IdSource {
    seeded: Option<Seeded>,
}

/// One ChaCha stream per purpose, so that, say, a GET (which takes a request
/// id) does not shift the port ids of the attaches after it.
#[derive(Debug, Clone)]
struct Streams {
    /// Ids and MACs of things in the world (seed entries, created ports).
    world: rand_chacha::ChaCha8Rng,
    /// Request ids.
    requests: rand_chacha::ChaCha8Rng,
    /// Fault-rule ids and probability draws.
    faults: rand_chacha::ChaCha8Rng,
}

impl Streams {
    fn new(seed: u64, salt: u64) -> Self {
        use rand_chacha::rand_core::SeedableRng;
        let stream = |n: u64| {
            let mut key = [0u8; 32];
            key[..8].copy_from_slice(&seed.to_le_bytes());
            key[8..16].copy_from_slice(&salt.to_le_bytes());
            let mut rng = rand_chacha::ChaCha8Rng::from_seed(key);
            rng.set_stream(n);
            rng
        };
        Streams {
            world: stream(0),
            requests: stream(1),
            faults: stream(2),
        }
    }
}

#[derive(Debug)]
struct Seeded {
    seed: u64,
    current: std::sync::Mutex<Streams>,
    /// Where `restart` goes back to: the state after the start-up seed.
    restart_point: std::sync::Mutex<Streams>,
}

impl Seeded {
    fn fill(&self, purpose: Purpose, bytes: &mut [u8]) {
        use rand_chacha::rand_core::RngCore;
        let mut streams = lock(&self.current);
        let rng = match purpose {
            Purpose::World => &mut streams.world,
            Purpose::Requests => &mut streams.requests,
            Purpose::Faults => &mut streams.faults,
        };
        rng.fill_bytes(bytes);
    }
}

#[derive(Clone, Copy)]
enum Purpose {
    World,
    Requests,
    Faults,
}

impl IdSource {
    pub fn random() -> Self {
        IdSource { seeded: None }
    }

    pub fn seeded(seed: u64) -> Self {
        let streams = Streams::new(seed, 0);
        IdSource {
            seeded: Some(Seeded {
                seed,
                current: std::sync::Mutex::new(streams.clone()),
                restart_point: std::sync::Mutex::new(streams),
            }),
        }
    }

    pub fn is_deterministic(&self) -> bool {
        self.seeded.is_some()
    }

    /// Remember the current position (after the start-up seed took its ids),
    /// for `restart`.
    pub fn mark_restart_point(&self) {
        if let Some(s) = &self.seeded {
            *lock(&s.restart_point) = lock(&s.current).clone();
        }
    }

    /// Back to the restart point (`POST /_porthole/reset`): after a reset
    /// the same calls get the same ids as in a fresh run.
    pub fn restart(&self) {
        if let Some(s) = &self.seeded {
            *lock(&s.current) = lock(&s.restart_point).clone();
        }
    }

    /// Continue on streams of their own, derived from `salt`: a process
    /// restarted on a store that holds state must not hand out the ids its
    /// previous run already used.
    pub fn diverge(&self, salt: u64) {
        if let Some(s) = &self.seeded {
            *lock(&s.current) = Streams::new(s.seed, salt.wrapping_add(1));
        }
    }

    fn uuid_value(&self, purpose: Purpose) -> uuid::Uuid {
        match &self.seeded {
            None => uuid::Uuid::new_v4(),
            Some(seeded) => {
                let mut bytes = [0u8; 16];
                seeded.fill(purpose, &mut bytes);
                uuid::Builder::from_random_bytes(bytes).into_uuid()
            }
        }
    }

    /// A number in [0, 1) from the same source, so that fault
    /// probabilities repeat too in deterministic mode.
    pub fn draw(&self) -> f64 {
        let bits = match &self.seeded {
            // The low 62 bits of a v4 UUID are random (version and variant
            // bits sit above them).
            None => uuid::Uuid::new_v4().as_u128() as u64,
            Some(seeded) => {
                let mut bytes = [0u8; 8];
                seeded.fill(Purpose::Faults, &mut bytes);
                u64::from_le_bytes(bytes)
            }
        };
        (bits & ((1u64 << 53) - 1)) as f64 / (1u64 << 53) as f64
    }

    /// A canonical (lower-case, hyphenated) UUID4 string, for a thing in the world.
    pub fn uuid(&self) -> String {
        self.uuid_value(Purpose::World).to_string()
    }

    /// The id of a fault rule (its own stream: rules do not shift port ids).
    pub fn rule_id(&self) -> String {
        self.uuid_value(Purpose::Faults).to_string()
    }

    /// Nova's request id form: `req-<uuid4>`.
    pub fn request_id(&self) -> String {
        let mut id = String::with_capacity(40);
        id.push_str("req-");
        id.push_str(
            self.uuid_value(Purpose::Requests)
                .hyphenated()
                .encode_lower(&mut uuid::Uuid::encode_buffer()),
        );
        id
    }

    /// A MAC under OpenStack's `fa:16:3e` base.
    pub fn mac(&self) -> String {
        let bytes = self.uuid_value(Purpose::World).into_bytes();
        format!(
            "fa:16:3e:{:02x}:{:02x}:{:02x}",
            bytes[0], bytes[1], bytes[2]
        )
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
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
    fn id_types_are_their_text() {
        let id = ServerId::from("3cb9bc59-5699-4588-a4b1-b87f96708bc6");
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"3cb9bc59-5699-4588-a4b1-b87f96708bc6\""
        );
        assert_eq!(
            serde_json::from_str::<ServerId>("\"3cb9bc59-5699-4588-a4b1-b87f96708bc6\"").unwrap(),
            id
        );
        assert_eq!(id.to_string(), id.as_str());
        // Maps keyed by an id type are looked up by `&str`.
        let map: std::collections::HashMap<PortId, u8> = [(PortId::from("p"), 1)].into();
        assert_eq!(map.get("p"), Some(&1));
    }

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
        // Request ids and draws do not move the world's ids.
        let c = IdSource::seeded(7);
        c.request_id();
        c.draw();
        c.rule_id();
        assert_eq!(c.uuid(), first[0]);
        assert_eq!(
            uuid::Uuid::parse_str(&first[0]).unwrap().get_version_num(),
            4
        );
    }

    #[test]
    fn restart_returns_to_the_mark_and_diverge_leaves_it() {
        let ids = IdSource::seeded(3);
        let seeded = ids.uuid();
        ids.mark_restart_point();
        let first: Vec<String> = (0..3).map(|_| ids.uuid()).collect();
        let request = ids.request_id();
        ids.restart();
        assert_eq!((0..3).map(|_| ids.uuid()).collect::<Vec<_>>(), first);
        assert_eq!(ids.request_id(), request);
        ids.diverge(5);
        let diverged = ids.uuid();
        assert!(![&seeded, &first[0], &first[1], &first[2]].contains(&&diverged));
        ids.restart();
        assert_eq!(ids.uuid(), first[0]);
    }

    #[test]
    fn draws_are_uniform_enough() {
        for ids in [IdSource::random(), IdSource::seeded(9)] {
            let draws: Vec<f64> = (0..4000).map(|_| ids.draw()).collect();
            assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
            let low = draws.iter().filter(|d| **d < 0.5).count();
            // Binomial(4000, 0.5): sd ~32; 6 sd either side.
            assert!((1810..2190).contains(&low), "{low}");
        }
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
