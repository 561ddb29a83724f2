//! Compute API microversions (`X.Y`), parsed the way Nova parses them.

use std::fmt;

/// A compute API version; ordered, so `v >= ApiVersion::TAG_IN_RESPONSE` reads naturally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    pub major: u32,
    pub minor: u32,
}

impl ApiVersion {
    pub const fn new(major: u32, minor: u32) -> Self {
        Self { major, minor }
    }
    pub const MIN: ApiVersion = ApiVersion::new(2, 1);
    pub const MAX: ApiVersion = ApiVersion::new(2, 104);
    /// 2.49: `tag` accepted on attach.
    pub const TAG_ON_ATTACH: ApiVersion = ApiVersion::new(2, 49);
    /// 2.70: `tag` in every interface object.
    pub const TAG_IN_RESPONSE: ApiVersion = ApiVersion::new(2, 70);
    /// 2.102: list and show reject query parameters.
    pub const STRICT_QUERY: ApiVersion = ApiVersion::new(2, 102);
    /// 2.21: instance actions of deleted servers readable.
    pub const ACTIONS_OF_DELETED: ApiVersion = ApiVersion::new(2, 21);
    /// 2.51: instance action events shown to non-admins.
    pub const EVENTS_FOR_ALL: ApiVersion = ApiVersion::new(2, 51);
    /// 2.58: instance actions carry `updated_at`; list paging.
    pub const ACTION_UPDATED_AT: ApiVersion = ApiVersion::new(2, 58);
    /// 2.66: `changes-before` on the instance-action list.
    pub const CHANGES_BEFORE: ApiVersion = ApiVersion::new(2, 66);
    /// 2.62: events carry `hostId` (and `host` for admins).
    pub const EVENT_HOST: ApiVersion = ApiVersion::new(2, 62);
    /// 2.84: events carry `details` for admins.
    pub const EVENT_DETAILS: ApiVersion = ApiVersion::new(2, 84);

    pub fn in_range(self) -> bool {
        (Self::MIN..=Self::MAX).contains(&self)
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Why a requested version was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionError {
    /// Not `latest` and not `MajorNum.MinorNum` (the raw value).
    InvalidFormat(String),
    /// Well formed, outside [MIN, MAX]: the value as given (Nova echoes it
    /// digit for digit, however large).
    NotSupported(String),
}

/// Parse one version value: `latest` or `^([1-9]\d*)\.([1-9]\d*|0)$`.
pub fn parse_version(value: &str) -> Result<ApiVersion, VersionError> {
    if value == "latest" {
        return Ok(ApiVersion::MAX);
    }
    let invalid = || VersionError::InvalidFormat(value.to_owned());
    let (major, minor) = value.split_once('.').ok_or_else(invalid)?;
    // `Some(None)`: well formed but too large for u32, so out of range.
    let number = |s: &str, zero_ok: bool| -> Option<Option<u32>> {
        let b = s.as_bytes();
        if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        if b[0] == b'0' && !(zero_ok && b.len() == 1) {
            return None;
        }
        Some(s.parse().ok())
    };
    let major = number(major, false).ok_or_else(invalid)?;
    let minor = number(minor, true).ok_or_else(invalid)?;
    match (major, minor) {
        (Some(major), Some(minor)) if ApiVersion::new(major, minor).in_range() => {
            Ok(ApiVersion::new(major, minor))
        }
        _ => Err(VersionError::NotSupported(value.to_owned())),
    }
}

/// Pick the requested compute version out of the two headers' values
/// (each already folded with commas when repeated). `None`: no version asked.
pub fn requested_version<'a>(
    standard: Option<&'a str>,
    legacy: Option<&'a str>,
) -> Option<&'a str> {
    let from_standard = standard.and_then(|value| {
        value
            .split(',')
            .filter_map(|item| {
                let item = item.trim();
                let (service, version) = item.split_once(char::is_whitespace).unwrap_or((item, ""));
                // `compute` without a version counts as no request.
                let version = version.trim();
                (service.eq_ignore_ascii_case("compute") && !version.is_empty()).then_some(version)
            })
            .next_back()
    });
    from_standard.or_else(|| legacy.and_then(|v| v.split(',').next_back().map(str::trim)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_versions() {
        assert_eq!(parse_version("2.1"), Ok(ApiVersion::new(2, 1)));
        assert_eq!(parse_version("2.104"), Ok(ApiVersion::MAX));
        assert_eq!(parse_version("latest"), Ok(ApiVersion::MAX));
        assert_eq!(parse_version("2.10"), Ok(ApiVersion::new(2, 10)));
    }

    #[test]
    fn rejects_malformed_versions() {
        for bad in [
            "2.01", "02.1", "2", "LATEST", "2.1.0", "", "2.", ".1", "a.b", " 2.1", "2.+1",
        ] {
            assert_eq!(
                parse_version(bad),
                Err(VersionError::InvalidFormat(bad.into())),
                "{bad}"
            );
        }
    }

    #[test]
    fn rejects_out_of_range() {
        assert_eq!(
            parse_version("2.0"),
            Err(VersionError::NotSupported("2.0".into()))
        );
        assert_eq!(
            parse_version("2.105"),
            Err(VersionError::NotSupported("2.105".into()))
        );
        assert_eq!(
            parse_version("3.0"),
            Err(VersionError::NotSupported("3.0".into()))
        );
        for huge in ["2.99999999999999999999", "99999999999999999999.1"] {
            assert_eq!(
                parse_version(huge),
                Err(VersionError::NotSupported(huge.into()))
            );
        }
    }

    #[test]
    fn picks_header() {
        assert_eq!(requested_version(Some("compute 2.70"), None), Some("2.70"));
        assert_eq!(
            requested_version(Some("volume 3.0, COMPUTE 2.5"), None),
            Some("2.5")
        );
        assert_eq!(
            requested_version(Some("compute 2.5, compute 2.6"), Some("2.9")),
            Some("2.6")
        );
        assert_eq!(
            requested_version(Some("volume 3.0"), Some("2.9")),
            Some("2.9")
        );
        assert_eq!(requested_version(None, Some("2.3, 2.9")), Some("2.9"));
        assert_eq!(requested_version(None, None), None);
    }
}
