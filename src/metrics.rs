//! Prometheus metrics (`GET /metrics`, OpenMetrics text): requests by
//! operation, status and microversion group, latency per operation, store
//! commit latency, and per-network gauges computed from the world at scrape
//! time. The registry belongs to the app state, never to a global, so two
//! apps in one process count separately.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, OnceLock};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use crate::domain::ipam::free_addresses;
use crate::domain::World;

/// Latency buckets, in seconds: 100 µs to 2.5 s.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// A histogram over [`LATENCY_BUCKETS`].
pub fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The microversion groups where the os-interface response changes: 2.49
/// (`tag` on attach) and 2.70 (`tag` in responses). `none` outside /v2.1.
pub fn microversion_group(nova_version: Option<&str>) -> &'static str {
    MICROVERSION_GROUPS[group_index(nova_version)]
}

const MICROVERSION_GROUPS: [&str; 4] = ["none", "2.1-2.48", "2.49-2.69", "2.70+"];

fn group_index(nova_version: Option<&str>) -> usize {
    let Some(minor) = nova_version
        .and_then(|v| v.strip_prefix("2."))
        .and_then(|minor| minor.parse::<u16>().ok())
    else {
        return 0;
    };
    match minor {
        0..=48 => 1,
        49..=69 => 2,
        _ => 3,
    }
}

/// The operations whose metrics are kept at hand (os-interface), with their
/// success status, so that recording a success is two atomic updates, not
/// two label lookups.
const HOT_OPERATIONS: [(&str, u16); 4] = [
    ("list", 200),
    ("show", 200),
    ("attach", 200),
    ("detach", 202),
];

/// Handles of already created series: successful answers of the hot operations,
/// per microversion group, and their latency histograms.
#[derive(Default)]
struct Hot {
    ok: [[OnceLock<Counter>; 4]; HOT_OPERATIONS.len()],
    durations: [OnceLock<Histogram>; HOT_OPERATIONS.len()],
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    operation: &'static str,
    status: u16,
    microversion: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct NetworkLabels {
    network_id: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// The registry and the metrics the request path records into.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: HistogramFamily<OperationLabels>,
    attachments: Family<NetworkLabels, Gauge>,
    free_ips: Family<NetworkLabels, Gauge<f64, AtomicU64>>,
    /// Scrapes rebuild the gauges, one at a time.
    scrape: Mutex<()>,
    hot: Hot,
}

impl Metrics {
    /// A registry with every metric; `commit` is the store's commit-latency
    /// histogram (see `Cloud::commit_histogram`).
    pub fn new(commit: Histogram) -> Self {
        let mut registry = Registry::with_prefix("porthole");
        registry.register(
            "build",
            "The running porthole",
            Info::new(vec![("version", crate::VERSION)]),
        );
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by operation, status and microversion group",
            requests.clone(),
        );
        let durations: HistogramFamily<OperationLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer a request, by operation",
            Unit::Seconds,
            durations.clone(),
        );
        registry.register_with_unit(
            "store_commit_duration",
            "Time a write waited for the store to make it durable",
            Unit::Seconds,
            commit,
        );
        let attachments = Family::<NetworkLabels, Gauge>::default();
        registry.register(
            "network_attachments",
            "Ports of the network attached to a server",
            attachments.clone(),
        );
        let free_ips = Family::<NetworkLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "network_free_ips",
            "Free addresses in the allocation pools of the network's subnets",
            free_ips.clone(),
        );
        Metrics {
            registry,
            requests,
            durations,
            attachments,
            free_ips,
            scrape: Mutex::new(()),
            hot: Hot::default(),
        }
    }

    /// Count and time one answered request: its endpoint's label (`other`
    /// when unrouted), its status and the microversion it answered at.
    pub fn record(
        &self,
        operation: &'static str,
        status: u16,
        nova_version: Option<&str>,
        elapsed: std::time::Duration,
    ) {
        let group = group_index(nova_version);
        let Some(hot) = HOT_OPERATIONS.iter().position(|(o, _)| *o == operation) else {
            self.request_counter(operation, status, group).inc();
            self.duration_histogram(operation)
                .observe(elapsed.as_secs_f64());
            return;
        };
        // Created on first use, as the families would: a series appears
        // with its first request.
        if status == HOT_OPERATIONS[hot].1 {
            self.hot.ok[hot][group]
                .get_or_init(|| self.request_counter(operation, status, group))
                .inc();
        } else {
            self.request_counter(operation, status, group).inc();
        }
        self.hot.durations[hot]
            .get_or_init(|| self.duration_histogram(operation))
            .observe(elapsed.as_secs_f64());
    }

    /// The counter of one label set (created if new); it shares its value
    /// with the family's.
    fn request_counter(&self, operation: &'static str, status: u16, group: usize) -> Counter {
        self.requests
            .get_or_create(&RequestLabels {
                operation,
                status,
                microversion: MICROVERSION_GROUPS[group],
            })
            .clone()
    }

    /// The latency histogram of one operation (created if new).
    fn duration_histogram(&self, operation: &'static str) -> Histogram {
        self.durations
            .get_or_create(&OperationLabels { operation })
            .clone()
    }

    /// The OpenMetrics text, with the gauges set from `networks`.
    pub fn encode(&self, networks: &[NetworkStats]) -> String {
        let _one_at_a_time = self.scrape.lock().unwrap_or_else(|e| e.into_inner());
        self.attachments.clear();
        self.free_ips.clear();
        for network in networks {
            let labels = NetworkLabels {
                network_id: network.id.clone(),
            };
            self.attachments
                .get_or_create(&labels)
                .set(network.attachments as i64);
            // f64: an IPv6 /64 has more addresses than any integer gauge holds.
            self.free_ips
                .get_or_create(&labels)
                .set(network.free_ips as f64);
        }
        let mut text = String::with_capacity(4096);
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

/// What the gauges report of one network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkStats {
    pub id: String,
    /// Ports on the network bound to a server.
    pub attachments: u64,
    /// Free addresses over all its subnets' pools (saturating).
    pub free_ips: u128,
}

/// Every network's attachments and free addresses, in network id order.
pub fn network_stats(world: &World) -> Vec<NetworkStats> {
    let mut stats: BTreeMap<&str, NetworkStats> = world
        .networks()
        .map(|n| {
            (
                n.id.as_str(),
                NetworkStats {
                    id: n.id.to_string(),
                    attachments: 0,
                    free_ips: 0,
                },
            )
        })
        .collect();
    for port in world.ports() {
        if world.server(port.device_id.as_str()).is_some() {
            if let Some(network) = stats.get_mut(port.network_id.as_str()) {
                network.attachments += 1;
            }
        }
    }
    let none = std::collections::BTreeSet::<IpAddr>::new();
    for subnet in world.subnets() {
        if let Some(network) = stats.get_mut(subnet.network_id.as_str()) {
            let used = world.used_ips(&subnet.id).unwrap_or(&none);
            network.free_ips = network
                .free_ips
                .saturating_add(free_addresses(subnet, used));
        }
    }
    stats.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microversion_groups() {
        let group = |v: &str| microversion_group(Some(v));
        assert_eq!(microversion_group(None), "none");
        assert_eq!(group("2.1"), "2.1-2.48");
        assert_eq!(group("2.48"), "2.1-2.48");
        assert_eq!(group("2.49"), "2.49-2.69");
        assert_eq!(group("2.69"), "2.49-2.69");
        assert_eq!(group("2.70"), "2.70+");
        assert_eq!(group("2.104"), "2.70+");
        assert_eq!(group("junk"), "none");
    }
}
