//! `/metrics` read the way Prometheus reads it: each scrape is parsed by the Prometheus client
//! library's own text-format parser (Python's `prometheus_client`, from Debian's
//! `python3-prometheus-client`, installed by `scripts/deps.sh test`), then checked against
//! what a real stream client saw: counters that never go down (not even when the client
//! leaves), a refused stream counted by its reason, and a render-time histogram whose buckets
//! add up and whose count is the number of renders.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::fixture;
use common::server::{TestServer, wait_until};
use framecast::render::Size;

/// Parses a scrape with `prometheus_client.parser` and prints each family as JSON. Fails on
/// what the parser rejects, and on a family without `# HELP` or `# TYPE` (the parser would
/// call it `unknown`).
const PARSE: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
families = []
for f in text_string_to_metric_families(sys.stdin.read()):
    if f.type == "unknown" or not f.documentation:
        sys.exit("no HELP or TYPE for " + f.name)
    families.append({"name": f.name, "type": f.type,
                     "samples": [[s.name, s.labels, s.value] for s in f.samples]})
json.dump(families, sys.stdout)
"#;

/// The Python that has `prometheus_client`: Debian's first (where the package puts it), then
/// whichever `python3` is on the PATH.
fn python() -> &'static str {
    ["/usr/bin/python3", "python3"]
        .into_iter()
        .find(|python| {
            Command::new(python)
                .args(["-c", "import prometheus_client"])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .expect("Python's prometheus_client (python3-prometheus-client): run scripts/deps.sh test")
}

/// One parsed scrape.
struct Scrape {
    /// Family name (as the parser names it: counters without `_total`) → type.
    types: BTreeMap<String, String>,
    /// Sample name with its labels (`name{k="v"}`, labels sorted) → value.
    samples: BTreeMap<String, f64>,
}

/// A GET of `path`, asked again while the answer is 503: on a server of one connection
/// (`refusals_are_counted_by_reason`), the last request's connection may hold the slot for a
/// moment after its answer was read.
fn past_the_cap(server: &TestServer, path: &str) -> common::server::Response {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let r = server.get("GET", path);
        if r.status != 503 || std::time::Instant::now() > deadline {
            return r;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Scrape {
    fn of(server: &TestServer) -> Scrape {
        Scrape::at(server, "/metrics")
    }

    fn at(server: &TestServer, path: &str) -> Scrape {
        let r = past_the_cap(server, path);
        assert_eq!(r.status, 200);
        assert!(
            r.headers["content-type"].starts_with("text/plain; version=0.0.4"),
            "{:?}",
            r.headers
        );
        let mut child = Command::new(python())
            .args(["-c", PARSE])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(&r.body)
            .expect("write the scrape");
        let out = child.wait_with_output().expect("parser output");
        assert!(
            out.status.success(),
            "the Prometheus parser rejected the scrape: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&r.body)
        );
        let families: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let mut scrape = Scrape {
            types: BTreeMap::new(),
            samples: BTreeMap::new(),
        };
        for family in families.as_array().expect("families") {
            let name = family["name"].as_str().expect("name").to_string();
            assert!(name.starts_with("framecast_"), "{name}");
            scrape
                .types
                .insert(name, family["type"].as_str().expect("type").to_string());
            for sample in family["samples"].as_array().expect("samples") {
                let labels = sample[1].as_object().expect("labels");
                let mut key = sample[0].as_str().expect("sample name").to_string();
                if !labels.is_empty() {
                    let pairs: Vec<String> = labels
                        .iter()
                        .map(|(k, v)| format!("{k}=\"{}\"", v.as_str().unwrap_or_default()))
                        .collect();
                    key = format!("{key}{{{}}}", pairs.join(","));
                }
                let value = sample[2].as_f64().expect("value");
                assert!(
                    scrape.samples.insert(key.clone(), value).is_none(),
                    "{key} twice"
                );
            }
        }
        scrape
    }

    fn get(&self, sample: &str) -> f64 {
        *self
            .samples
            .get(sample)
            .unwrap_or_else(|| panic!("{sample} missing from {:?}", self.samples.keys()))
    }

    /// Every sample of every counter family.
    fn counters(&self) -> BTreeMap<&str, f64> {
        self.samples
            .iter()
            .filter(|(sample, _)| {
                let name = sample.split('{').next().unwrap_or_default();
                name.strip_suffix("_total")
                    .is_some_and(|family| self.types.get(family).is_some_and(|t| t == "counter"))
            })
            .map(|(sample, value)| (sample.as_str(), *value))
            .collect()
    }

    /// The histogram's buckets in order of their bounds, `+Inf` last.
    fn buckets(&self, name: &str) -> Vec<(f64, f64)> {
        let prefix = format!("{name}_bucket{{le=\"");
        let mut buckets: Vec<(f64, f64)> = self
            .samples
            .iter()
            .filter_map(|(sample, value)| {
                let le = sample.strip_prefix(&prefix)?.strip_suffix("\"}")?;
                let bound = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().expect("numeric le")
                };
                Some((bound, *value))
            })
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        buckets
    }
}

/// Every counter of `later` is at least what it was in `earlier`, and none disappeared.
fn assert_monotonic(earlier: &Scrape, later: &Scrape) {
    let later_counters = later.counters();
    for (sample, before) in earlier.counters() {
        let after = later_counters
            .get(sample)
            .unwrap_or_else(|| panic!("{sample} disappeared"));
        assert!(*after >= before, "{sample} went down: {before} → {after}");
    }
}

#[test]
fn metrics_parse_and_counters_survive_the_client_that_left() {
    let cache = tempfile::tempdir().expect("cache dir");
    let server = TestServer::start(vec![fixture("exif-orientation")], |s| {
        s.spec.size = Size {
            width: 320,
            height: 180,
        };
        s.timing.interval = Duration::from_millis(100);
        s.http.max_clients = 1;
        s.disk_cache = Some(framecast::cache::disk::Options {
            dir: cache.path().to_path_buf(),
            max_bytes: 64 << 20,
        });
    });
    let first = Scrape::of(&server);
    for (family, kind) in [
        ("framecast_stream_frames_sent", "counter"),
        ("framecast_stream_bytes_sent", "counter"),
        ("framecast_connections_accepted", "counter"),
        ("framecast_requests_refused", "counter"),
        ("framecast_renders", "counter"),
        ("framecast_render_failures", "counter"),
        ("framecast_cache_hits", "counter"),
        ("framecast_cache_misses", "counter"),
        ("framecast_render_seconds", "histogram"),
        ("framecast_clients", "gauge"),
        ("framecast_library_photos", "gauge"),
        ("framecast_cache_bytes", "gauge"),
        ("framecast_disk_cache_hits", "counter"),
        ("framecast_disk_cache_misses", "counter"),
        ("framecast_disk_cache_writes", "counter"),
        ("framecast_disk_cache_evictions", "counter"),
        ("framecast_disk_cache_discarded", "counter"),
        ("framecast_disk_cache_errors", "counter"),
        ("framecast_disk_cache_files", "gauge"),
        ("framecast_disk_cache_bytes", "gauge"),
        ("framecast_disk_cache_max_bytes", "gauge"),
        ("framecast_uptime_seconds", "gauge"),
    ] {
        assert_eq!(
            first.types.get(family).map(String::as_str),
            Some(kind),
            "{family}"
        );
    }
    assert_eq!(first.get("framecast_stream_frames_sent_total"), 0.0);

    // One client reads a dozen parts, in which time the timeline moves through several
    // photos; a second stream is refused while it watches.
    let mut client = server.stream("GET /stream.mjpg HTTP/1.1");
    let mut parts = 0;
    let mut part_bytes = 0;
    for _ in 0..12 {
        part_bytes += client.next_jpeg().len();
        parts += 1;
    }
    let refused = server.get("GET", "/stream.mjpg");
    assert_eq!(refused.status, 503, "{}", refused.status_line);
    let watching = Scrape::of(&server);
    assert_monotonic(&first, &watching);
    assert_eq!(watching.get("framecast_clients"), 1.0);
    assert_eq!(
        watching.get("framecast_requests_refused_total{reason=\"max_clients\"}"),
        1.0
    );
    assert!(watching.get("framecast_stream_frames_sent_total") >= parts as f64);
    // The stream's bytes are its parts and their framing: more than the JPEGs alone.
    assert!(watching.get("framecast_stream_bytes_sent_total") > part_bytes as f64);

    drop(client);
    wait_until("the client to be gone", Duration::from_secs(20), || {
        server.status()["clients"].as_array().map(Vec::len) == Some(0)
    });
    let left = Scrape::of(&server);
    assert_monotonic(&watching, &left);
    assert_eq!(left.get("framecast_clients"), 0.0);
    assert!(
        left.get("framecast_stream_frames_sent_total")
            >= watching.get("framecast_stream_frames_sent_total"),
        "frames sent dropped when the client left"
    );
    assert!(left.get("framecast_stream_clients_total") >= 1.0);
    assert_eq!(
        left.get("framecast_requests_refused_total{reason=\"max_clients\"}"),
        1.0
    );
    for reason in ["max_connections", "unauthorized"] {
        assert_eq!(
            left.get(&format!(
                "framecast_requests_refused_total{{reason=\"{reason}\"}}"
            )),
            0.0
        );
    }
    // Three scrapes, the status polls, two streams: every one a connection.
    assert!(left.get("framecast_connections_accepted_total") >= 6.0);
    assert_eq!(
        Some(left.get("framecast_library_photos") as u64),
        server.status()["index"]["photos"].as_u64()
    );
    assert!(left.get("framecast_library_photos") > 0.0);
    assert!(left.get("framecast_cache_bytes") > 0.0);

    // With nobody watching the timeline holds still; once the renders under way are done,
    // each cache miss was one render, and the histogram counted each.
    let settled = {
        let mut settled = None;
        wait_until(
            "the renders under way to finish",
            Duration::from_secs(20),
            || {
                let scrape = Scrape::of(&server);
                let done = scrape.get("framecast_renders_total")
                    == scrape.get("framecast_cache_misses_total");
                if done {
                    settled = Some(scrape);
                }
                done
            },
        );
        settled.expect("settled")
    };
    assert_monotonic(&left, &settled);
    let renders = settled.get("framecast_renders_total");
    assert!(renders >= 3.0, "a dozen parts at 100 ms a photo: {renders}");
    assert_eq!(settled.get("framecast_render_seconds_count"), renders);
    // A failed photo is never tried again: one failed render each.
    assert_eq!(
        settled.get("framecast_render_failures_total"),
        settled.get("framecast_photos_failed")
    );
    let buckets = settled.buckets("framecast_render_seconds");
    assert!(buckets.len() >= 2, "{buckets:?}");
    assert!(
        buckets.windows(2).all(|w| w[0].1 <= w[1].1),
        "buckets are cumulative: {buckets:?}"
    );
    assert_eq!(buckets.last(), Some(&(f64::INFINITY, renders)));
    let sum = settled.get("framecast_render_seconds_sum");
    assert!(sum > 0.0 && sum < renders * 60.0, "{sum}");
    assert!(
        settled.get("framecast_cache_hits_total") + settled.get("framecast_cache_misses_total")
            >= renders
    );
    // A new cache folder: every render was first looked for on disk, none found there.
    assert_eq!(settled.get("framecast_disk_cache_hits_total"), 0.0);
    assert!(settled.get("framecast_disk_cache_misses_total") >= renders);
    assert_eq!(
        settled.get("framecast_disk_cache_max_bytes"),
        (64 << 20) as f64
    );
}

#[test]
fn refusals_are_counted_by_reason() {
    const TOKEN: &str = "s3cret-token";
    let metrics = format!("/metrics?token={TOKEN}");
    let server = TestServer::start(vec![fixture("edge/cmyk.jpg")], |s| {
        s.spec.size = Size {
            width: 320,
            height: 180,
        };
        s.http.access.token = Some(TOKEN.parse().expect("token"));
        s.http.max_connections = 1;
    });
    // A connection that says nothing holds the only slot: the next request is refused.
    let idle = server.connect();
    wait_until("the slot to be taken", Duration::from_secs(10), || {
        server.get("GET", &metrics).status == 503
    });
    drop(idle);
    wait_until("the slot to be free", Duration::from_secs(20), || {
        server.get("GET", &metrics).status == 200
    });
    for _ in 0..3 {
        assert_eq!(past_the_cap(&server, "/api/status").status, 401);
    }
    let scrape = Scrape::at(&server, &metrics);
    let refused = |reason: &str| {
        scrape.get(&format!(
            "framecast_requests_refused_total{{reason=\"{reason}\"}}"
        ))
    };
    assert!(refused("max_connections") >= 1.0);
    assert_eq!(refused("unauthorized"), 3.0);
    assert_eq!(refused("max_clients"), 0.0);
    assert!(scrape.get("framecast_connections_overflow_total") >= refused("max_connections"));
}
