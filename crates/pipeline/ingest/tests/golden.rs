//! Golden files: the ECS fields, attributes, labels and features each reader fills from a
//! sample of its format (real samples where the licence allows, else fixtures written from
//! the format's documentation). Review changes with `cargo insta review`.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers fail the test by panicking"
)]

use std::path::Path;

use rampart_core::Ingested;
use rampart_ingest::{ReadOptions, read_path_all};
use serde_json::{Value, json};

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// What a reader made of a fixture, without the machine-specific parts (absolute source
/// path, ingest time, ids derived from them).
fn digest(name: &str) -> Vec<Value> {
    let read = read_path_all(&fixture(name), &ReadOptions::default()).unwrap();
    read.into_iter()
        .map(|item| match item {
            Ingested::Event(event) => json!({
                "position": event.provenance.position,
                "format": event.provenance.format,
                "parser": event.provenance.parser,
                "ecs": event.ecs,
                "attributes": event.attributes,
                "ground_truth": event.ground_truth,
                "features": event.features,
            }),
            Ingested::DeadLetter(letter) => json!({
                "dead_letter": letter.reason,
                "position": letter.provenance.position,
                "raw_len": letter.raw_len,
            }),
            Ingested::Intel(intel) => json!({ "intel": intel.stix_id }),
        })
        .collect()
}

macro_rules! golden {
    ($test:ident, $file:literal) => {
        #[test]
        fn $test() {
            insta::assert_json_snapshot!(stringify!($test), digest($file));
        }
    };
}

golden!(suricata_real_alerts_array, "suricata/alerts-sample.json");
golden!(suricata_event_types, "suricata/eve-types.ndjson");
golden!(suricata_damaged_lines, "bad/eve-damaged.ndjson");
golden!(suricata_truncated_array, "bad/eve-truncated-array.json");
golden!(zeek_conn_tsv, "zeek/conn.log");
golden!(zeek_conn_labeled, "zeek/conn.log.labeled");
golden!(zeek_dns_tsv, "zeek/dns.log");
golden!(zeek_http_tsv, "zeek/http.log");
golden!(zeek_ssl_tsv, "zeek/ssl.log");
golden!(zeek_files_tsv, "zeek/files.log");
golden!(zeek_notice_tsv, "zeek/notice.log");
golden!(zeek_weird_tsv, "zeek/weird.log");
golden!(zeek_json_lines, "zeek/json/conn.log");
golden!(flow_nsl_kdd, "flow_csv/nsl-kdd.txt");
golden!(flow_cic_ids2017, "flow_csv/cic-ids2017.csv");
golden!(flow_unsw_nb15, "flow_csv/unsw-nb15.csv");
golden!(flow_nsl_kdd_damaged, "bad/nsl-kdd-damaged.txt");
