//! Address management as Neutron's default IPAM does it: allocation pools,
//! the gateway, and MAC addresses under OpenStack's `fa:16:3e` prefix.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::model::{IpRange, Subnet};

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u32::from(v4) as u128,
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn from_u128(value: u128, like: IpAddr) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(value as u32)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(value)),
    }
}

/// Neutron's `generate_pools`: every host address but the network address,
/// the IPv4 broadcast address and the gateway.
pub fn default_pools(cidr: IpNet, gateway: Option<IpAddr>) -> Vec<IpRange> {
    let first = to_u128(cidr.network());
    let last = to_u128(cidr.broadcast());
    let like = cidr.addr();
    if first == last {
        return vec![IpRange {
            start: cidr.network(),
            end: cidr.network(),
        }];
    }
    let start = first + 1;
    let end = if cidr.addr().is_ipv4() {
        last - 1
    } else {
        last
    };
    if start > end {
        return Vec::new();
    }
    let mut pools = Vec::new();
    match gateway.map(to_u128).filter(|g| (start..=end).contains(g)) {
        Some(g) => {
            if g > start {
                pools.push((start, g - 1));
            }
            if g < end {
                pools.push((g + 1, end));
            }
        }
        None => pools.push((start, end)),
    }
    pools
        .into_iter()
        .map(|(s, e)| IpRange {
            start: from_u128(s, like),
            end: from_u128(e, like),
        })
        .collect()
}

/// Neutron's default gateway: the first address after the network address.
pub fn default_gateway(cidr: IpNet) -> Option<IpAddr> {
    let first = to_u128(cidr.network());
    (first < to_u128(cidr.broadcast())).then(|| from_u128(first + 1, cidr.addr()))
}

/// Whether `ip` can be a port's fixed IP on `subnet`: inside the CIDR and
/// not its network or IPv4 broadcast address.
pub fn is_valid_for_subnet(subnet: &Subnet, ip: IpAddr) -> bool {
    let cidr = subnet.cidr;
    if !cidr.contains(&ip) {
        return false;
    }
    let single = cidr.prefix_len() >= cidr.max_prefix_len() - 1;
    if single {
        return true;
    }
    ip != cidr.network() && !(ip.is_ipv4() && ip == cidr.broadcast())
}

/// The lowest free address of the subnet's pools, skipping `used` and the gateway.
pub fn first_free(subnet: &Subnet, used: &BTreeSet<IpAddr>) -> Option<IpAddr> {
    first_free_from(subnet, used, None, &[])
}

/// [`first_free`], knowing that every pool address below `floor` is taken
/// (so the search starts there: allocation stays O(1) amortised as a large
/// subnet fills up), and skipping `also_taken` too.
pub fn first_free_from(
    subnet: &Subnet,
    used: &BTreeSet<IpAddr>,
    floor: Option<IpAddr>,
    also_taken: &[IpAddr],
) -> Option<IpAddr> {
    let floor = floor.map(to_u128).unwrap_or(0);
    let taken = |ip: &IpAddr| {
        Some(*ip) == subnet.gateway_ip || used.contains(ip) || also_taken.contains(ip)
    };
    for pool in &subnet.allocation_pools {
        if pool.start.is_ipv4() != subnet.cidr.addr().is_ipv4() || pool.start > pool.end {
            continue;
        }
        let end = to_u128(pool.end);
        let start = to_u128(pool.start).max(floor);
        if start > end {
            continue;
        }
        // `None` once past the top of the address space (a pool ending at
        // ffff:...:ffff must not overflow).
        let mut candidate = Some(start);
        let from = from_u128(start, subnet.cidr.addr());
        for used_ip in used.range(from..=pool.end) {
            let used_ip = to_u128(*used_ip);
            match candidate {
                Some(c) if used_ip == c => candidate = c.checked_add(1),
                _ => break,
            }
        }
        while let Some(c) = candidate.filter(|c| *c <= end) {
            let ip = from_u128(c, subnet.cidr.addr());
            if !taken(&ip) {
                return Some(ip);
            }
            candidate = c.checked_add(1);
        }
    }
    None
}

/// The next floor after `ip` was taken at the floor: past every address
/// already used and the gateway.
pub fn raise_floor(subnet: &Subnet, used: &BTreeSet<IpAddr>, ip: IpAddr) -> Option<IpAddr> {
    use std::ops::Bound::{Excluded, Unbounded};
    let mut next = to_u128(ip).checked_add(1)?;
    // The used addresses above `ip`, walked in order alongside the
    // candidates: one pass over a run of used addresses, not one tree
    // search per address (an attach re-takes an address below the floor
    // and walks the run up to it). `highest`: every used address below it
    // has been passed; a candidate not above it (the address wrapped) is
    // looked up instead.
    let mut above = used.range((Excluded(ip), Unbounded)).peekable();
    let mut highest = ip;
    loop {
        let candidate = from_u128(next, subnet.cidr.addr());
        let in_use = if candidate > highest {
            highest = candidate;
            while above.next_if(|a| **a < candidate).is_some() {}
            above.peek() == Some(&&candidate)
        } else {
            used.contains(&candidate)
        };
        if !(in_use || Some(candidate) == subnet.gateway_ip) {
            return Some(candidate);
        }
        next = next.checked_add(1)?;
    }
}

/// The lowest address of the subnet's pools (where a floor starts).
pub fn lowest_pool_address(subnet: &Subnet) -> Option<IpAddr> {
    subnet.allocation_pools.iter().map(|p| p.start).min()
}

/// How many addresses [`first_free`] could still hand out: the pools' sizes
/// less the used addresses and the gateway inside them. Saturating (an IPv6
/// pool may hold up to 2^128 addresses).
pub fn free_addresses(subnet: &Subnet, used: &BTreeSet<IpAddr>) -> u128 {
    let mut free: u128 = 0;
    for pool in &subnet.allocation_pools {
        if pool.start.is_ipv4() != subnet.cidr.addr().is_ipv4() || pool.start > pool.end {
            continue;
        }
        let size = (to_u128(pool.end) - to_u128(pool.start)).saturating_add(1);
        let taken = used.range(pool.start..=pool.end).count() as u128;
        let gateway = subnet
            .gateway_ip
            .filter(|g| (pool.start..=pool.end).contains(g) && !used.contains(g))
            .map_or(0, |_| 1);
        free = free.saturating_add(size.saturating_sub(taken + gateway));
    }
    free
}

/// A MAC as six `:`-separated hex pairs, normalised to lower case.
pub fn normalize_mac(value: &str) -> Option<String> {
    let parts: Vec<&str> = value.split(':').collect();
    let ok = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
    ok.then(|| value.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnet(cidr: &str, gateway: Option<&str>) -> Subnet {
        let cidr: IpNet = cidr.parse().unwrap();
        let gateway = gateway.map(|g| g.parse().unwrap());
        Subnet {
            id: "s".into(),
            network_id: "n".into(),
            cidr,
            gateway_ip: gateway,
            allocation_pools: default_pools(cidr, gateway),
            neutron: Default::default(),
        }
    }

    #[test]
    fn pools_skip_gateway_and_broadcast() {
        let s = subnet("192.168.1.0/24", Some("192.168.1.1"));
        assert_eq!(
            s.allocation_pools,
            vec![IpRange {
                start: "192.168.1.2".parse().unwrap(),
                end: "192.168.1.254".parse().unwrap()
            }]
        );
        let s = subnet("10.0.0.0/29", Some("10.0.0.4"));
        assert_eq!(s.allocation_pools.len(), 2);
    }

    #[test]
    fn allocates_lowest_free() {
        let s = subnet("192.168.1.0/29", Some("192.168.1.1"));
        let mut used = BTreeSet::new();
        let mut got = Vec::new();
        while let Some(ip) = first_free(&s, &used) {
            used.insert(ip);
            got.push(ip.to_string());
        }
        assert_eq!(
            got,
            [
                "192.168.1.2",
                "192.168.1.3",
                "192.168.1.4",
                "192.168.1.5",
                "192.168.1.6"
            ]
        );
    }

    #[test]
    fn allocates_around_holes() {
        let s = subnet("10.0.0.0/24", Some("10.0.0.1"));
        let used: BTreeSet<IpAddr> = ["10.0.0.2", "10.0.0.3", "10.0.0.5"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(first_free(&s, &used), Some("10.0.0.4".parse().unwrap()));
    }

    #[test]
    fn ipv6_allocation() {
        let s = subnet("fd00::/64", Some("fd00::1"));
        assert_eq!(
            first_free(&s, &BTreeSet::new()),
            Some("fd00::2".parse().unwrap())
        );
    }

    #[test]
    fn pool_at_the_top_of_the_address_space() {
        let mut s = subnet("ffff:ffff:ffff:ffff::/64", None);
        let top: IpAddr = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap();
        s.allocation_pools = vec![IpRange {
            start: top,
            end: top,
        }];
        assert_eq!(first_free(&s, &BTreeSet::new()), Some(top));
        assert_eq!(first_free(&s, &BTreeSet::from([top])), None);
    }

    #[test]
    fn free_addresses_match_what_allocation_hands_out() {
        let cases = [
            ("192.168.1.0/29", Some("192.168.1.1"), vec![]),
            (
                "192.168.1.0/29",
                Some("192.168.1.1"),
                vec!["192.168.1.3", "192.168.1.6"],
            ),
            ("10.0.0.0/28", Some("10.0.0.7"), vec!["10.0.0.2"]),
            (
                "10.0.0.0/28",
                Some("10.0.0.7"),
                vec!["10.0.0.2", "10.0.0.7"],
            ),
            ("10.30.0.0/30", None, vec!["10.30.0.2"]),
            ("fd00::/125", Some("fd00::1"), vec!["fd00::5"]),
        ];
        for (cidr, gateway, used) in cases {
            let mut s = subnet(cidr, gateway);
            // A gateway inside the pools (pools given by hand) is skipped too.
            if cidr == "10.0.0.0/28" {
                s.allocation_pools = default_pools(s.cidr, None);
            }
            let mut used: BTreeSet<IpAddr> = used.iter().map(|u| u.parse().unwrap()).collect();
            let free = free_addresses(&s, &used);
            let mut handed = 0;
            while let Some(ip) = first_free(&s, &used) {
                used.insert(ip);
                handed += 1;
            }
            assert_eq!(free, handed, "{cidr}");
            assert_eq!(free_addresses(&s, &used), 0, "{cidr}");
        }
    }

    #[test]
    fn free_addresses_of_huge_ipv6_pools_saturate() {
        let s = subnet("fd00::/64", Some("fd00::1"));
        let used: BTreeSet<IpAddr> = ["fd00::2".parse().unwrap()].into();
        assert_eq!(free_addresses(&s, &used), (1u128 << 64) - 3);
        let mut all = subnet("::/0", None);
        all.allocation_pools = vec![IpRange {
            start: "::".parse().unwrap(),
            end: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap(),
        }];
        assert_eq!(free_addresses(&all, &BTreeSet::new()), u128::MAX);
    }

    #[test]
    fn validity() {
        let s = subnet("192.168.1.0/24", Some("192.168.1.1"));
        assert!(is_valid_for_subnet(&s, "192.168.1.200".parse().unwrap()));
        assert!(!is_valid_for_subnet(&s, "192.168.1.0".parse().unwrap()));
        assert!(!is_valid_for_subnet(&s, "192.168.1.255".parse().unwrap()));
        assert!(!is_valid_for_subnet(&s, "192.168.2.1".parse().unwrap()));
    }

    #[test]
    fn macs() {
        let mac = crate::domain::ids::IdSource::random().mac();
        assert!(mac.starts_with("fa:16:3e:") && normalize_mac(&mac).is_some());
        assert_eq!(
            normalize_mac("FA:16:3E:00:00:0A").as_deref(),
            Some("fa:16:3e:00:00:0a")
        );
        assert_eq!(normalize_mac("fa:16:3e:00:00"), None);
        assert_eq!(normalize_mac("fa:16:3e:00:00:0g"), None);
    }

    /// The walk finds what one lookup per address finds, gateway, gaps,
    /// wrap-around and the end of the address space included.
    #[test]
    fn raise_floor_is_the_first_free_address_above() {
        fn naive(subnet: &Subnet, used: &BTreeSet<IpAddr>, ip: IpAddr) -> Option<IpAddr> {
            let mut next = to_u128(ip).checked_add(1)?;
            loop {
                let candidate = from_u128(next, subnet.cidr.addr());
                if !(used.contains(&candidate) || Some(candidate) == subnet.gateway_ip) {
                    return Some(candidate);
                }
                next = next.checked_add(1)?;
            }
        }
        let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
        let v4 = subnet("10.0.0.0/24", Some("10.0.0.5"));
        let v6 = subnet("2001:db8::/64", Some("2001:db8::3"));
        let sets: Vec<(&Subnet, Vec<&str>, Vec<&str>)> = vec![
            (&v4, vec![], vec!["10.0.0.2", "10.0.0.4"]),
            (
                &v4,
                vec!["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.6", "10.0.0.8"],
                vec!["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.8", "10.0.0.9"],
            ),
            (
                &v4,
                vec!["255.255.255.254", "255.255.255.255", "0.0.0.0", "0.0.0.1"],
                vec!["255.255.255.254", "255.255.255.255"],
            ),
            (
                &v6,
                vec!["2001:db8::1", "2001:db8::2", "2001:db8::4", "10.0.0.1"],
                vec!["2001:db8::", "2001:db8::1", "2001:db8::4"],
            ),
            (
                &v6,
                vec!["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
                vec!["ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"],
            ),
        ];
        for (subnet, used, from) in sets {
            let used: BTreeSet<IpAddr> = used.into_iter().map(ip).collect();
            for from in from {
                assert_eq!(
                    raise_floor(subnet, &used, ip(from)),
                    naive(subnet, &used, ip(from)),
                    "{from} over {used:?}"
                );
            }
        }
    }
}
